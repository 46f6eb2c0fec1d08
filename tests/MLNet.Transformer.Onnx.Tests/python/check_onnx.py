"""Validates exported ONNX files with the onnx package's checker (full check: shape inference included).

Usage: check_onnx.py WORKDIR FILE...   Prints one line per file; exits 1 when any file fails.
"""

import sys

import onnx


def main():
    failed = 0
    for path in sys.argv[2:]:  # argv[1] is the workspace folder the test runner passes
        try:
            model = onnx.load(path)
            onnx.checker.check_model(model, full_check=True)
            opsets = ",".join(f"{o.domain or 'ai.onnx'}:{o.version}" for o in model.opset_import)
            print(f"OK {path} ir={model.ir_version} opset={opsets} nodes={len(model.graph.node)}")
        except Exception as e:  # the checker raises several types; report each file's reason
            failed += 1
            print(f"FAIL {path}: {type(e).__name__}: {e}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
