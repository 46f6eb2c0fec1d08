"""Loads an MLNet.Transformer checkpoint into PyTorch (tests/MLNet.Transformer.Engine.Tests/CheckpointPyTorchTests.cs).

Parses the safetensors files by hand (python3-torch 1.13 has no safetensors package): an 8-byte little-endian
header length, a JSON header, raw little-endian data. Builds the architecture of checkpoint.json with
reference.py's modules, loads model.safetensors with load_state_dict(strict=True), loads optimizer.safetensors
into torch.optim.Adam's own state_dict, and writes the logits of case.json's batch and the weights after one more
Adam step taken on the engine's gradients (grad_native bundle).

Usage: checkpoint_reference.py WORKDIR CHECKPOINT_DIR
"""

import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

import reference


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        assert entry["dtype"] == "F32", f"{name}: dtype {entry['dtype']}"
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype="<f4").reshape(entry["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors


def main():
    workdir, ckpt = sys.argv[1], sys.argv[2]
    with open(os.path.join(ckpt, "checkpoint.json")) as f:
        description = json.load(f)
    assert description["format"] == "mlnet-transformer-checkpoint", description["format"]
    m = description["model"]
    cfg = {
        "kind": m["kind"], "vocab_size": m["vocab_size"], "src_vocab_size": m["src_vocab_size"] or m["vocab_size"],
        "d_model": m["d_model"], "n_heads": m["n_heads"], "n_layers": m["n_layers"],
        "n_encoder_layers": m["n_encoder_layers"], "d_ff": m["d_ff"], "max_len": m["max_len"],
        "pad_id": m["pad_id"], "activation": m["activation"], "norm_first": m["norm_first"],
        "causal_encoder": m["causal_encoder"], "causal_cross": m["causal_cross"], "eps": m["layer_norm_eps"],
    }
    torch.set_num_threads(1)
    model = reference.build(cfg)
    model.load_state_dict(read_safetensors(os.path.join(ckpt, description["weights"])), strict=True)
    model.train()  # dropout 0 here; train mode avoids 1.13's truncating eval fast path

    # Adam's state as torch keeps it: per parameter index, in named_parameters order.
    params = dict(model.named_parameters())
    opt = description["optimizer"]
    moments = read_safetensors(os.path.join(ckpt, opt["file"]))
    assert set(moments) == {f"{k}.{s}" for k in params for s in ("exp_avg", "exp_avg_sq")}, "optimizer names"
    optimizer = torch.optim.Adam(params.values(), lr=1e-3)
    state = optimizer.state_dict()
    state["state"] = {
        i: {"step": torch.tensor(float(opt["step"])), "exp_avg": moments[k + ".exp_avg"].reshape(p.shape),
            "exp_avg_sq": moments[k + ".exp_avg_sq"].reshape(p.shape)}
        for i, (k, p) in enumerate(params.items())
    }
    optimizer.load_state_dict(state)

    with open(os.path.join(workdir, "case.json")) as f:
        case = json.load(f)
    B, T = case["B"], case["T"]
    tokens = torch.tensor(case["tokens"], dtype=torch.long).reshape(B, T)
    targets = torch.tensor(case["targets"], dtype=torch.long).reshape(B, T)
    logits, _, _, _ = reference.forward(model, cfg, tokens, None, [])
    loss = F.cross_entropy(logits.reshape(-1, cfg["vocab_size"]), targets.reshape(-1), ignore_index=cfg["pad_id"])

    native = reference.read_bundle(workdir, "grad_native")
    for k, p in params.items():
        p.grad = native[k].reshape(p.shape).clone()
    for group in optimizer.param_groups:
        group["lr"] = case["lr"]
    optimizer.step()

    out = {"logits": logits}
    out.update({"after." + k: p.detach() for k, p in params.items()})
    reference.write_bundle(workdir, "out", out)
    with open(os.path.join(workdir, "result.json"), "w") as f:
        json.dump({"loss": loss.item(), "step": opt["step"], "torch_version": torch.__version__}, f)


if __name__ == "__main__":
    main()
