// A test collection that runs after the parallel ones, alone: for tests that measure the process (RSS)
// or change process-wide engine settings.

using Xunit;

namespace MLNet.Transformer.Engine.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialTests
{
    public const string Name = "Serial (runs alone)";
}
