#!/usr/bin/env bash
# Records the packaged libraries' current public API in each project's PublicAPI.Unshipped.txt (the
# PublicApiAnalyzers code fix for RS0016/RS0017, applied by dotnet format): run after changing or merging public API,
# then review the diff. Moving lines to PublicAPI.Shipped.txt marks a release.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for p in Core Transforms Estimators AutoML; do
  dotnet format analyzers "src/$p/MLNet.Transformer.$p.csproj" --diagnostics RS0016 RS0017 RS0037 --severity info
done
