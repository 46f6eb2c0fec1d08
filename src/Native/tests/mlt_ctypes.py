# mlt_ctypes.py - minimal ctypes binding of libmlt (include/mlt.h) for the engine's own checks and benchmarks.
# Not the product interop (that is src/Core/Interop in C#); kept in step with MLT_ABI_VERSION 6.
import ctypes as C
import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
ABI_VERSION = 6
STATUS_NON_FINITE = 6


class Config(C.Structure):
    _fields_ = [("kind", C.c_int32), ("vocab_size", C.c_int32), ("src_vocab_size", C.c_int32),
                ("d_model", C.c_int32), ("n_heads", C.c_int32), ("n_layers", C.c_int32),
                ("n_encoder_layers", C.c_int32), ("d_ff", C.c_int32), ("max_len", C.c_int32),
                ("pad_id", C.c_int32), ("activation", C.c_int32), ("norm_first", C.c_int32),
                ("causal_encoder", C.c_int32), ("causal_cross", C.c_int32), ("dropout", C.c_float),
                ("layer_norm_eps", C.c_float), ("seed", C.c_uint64)]


class OptimConfig(C.Structure):
    _fields_ = [("kind", C.c_int32), ("beta1", C.c_float), ("beta2", C.c_float), ("eps", C.c_float),
                ("weight_decay", C.c_float), ("clip_grad_norm", C.c_float)]


class MltError(RuntimeError):
    def __init__(self, status, message):
        super().__init__(f"mlt status {status}: {message}")
        self.status = status
        self.message = message


def load(path=None):
    path = path or os.environ.get("MLT_NATIVE_LIBRARY") or str(ROOT / "artifacts/native/libmlt.so")
    lib = C.CDLL(path)
    lib.mlt_last_error.restype = C.c_char_p
    lib.mlt_abi_version.restype = C.c_int32
    lib.mlt_model_free.restype = None
    assert lib.mlt_abi_version() == ABI_VERSION, f"ABI mismatch: libmlt {lib.mlt_abi_version()}, binding {ABI_VERSION}"
    return lib


P64 = C.POINTER(C.c_int64)
PF = C.POINTER(C.c_float)


def i64(a):
    return None if a is None else np.ascontiguousarray(a, dtype=np.int64).ctypes.data_as(P64)


def ids(a):
    """(pointer, int64 length) of an id buffer, (NULL, 0) for None."""
    return (None, C.c_int64(0)) if a is None else (i64(a), C.c_int64(np.size(a)))


class Model:
    """Thin owner of an mlt_model*; raises MltError on a non-zero status."""

    def __init__(self, lib, cfg: Config, device="cpu"):
        self.lib, self.cfg = lib, cfg
        self.h = C.c_void_p()
        self._check(lib.mlt_model_create(C.byref(self.h), C.byref(cfg), device.encode()))

    def _check(self, status):
        if status != 0:
            raise MltError(status, self.lib.mlt_last_error().decode())

    def close(self):
        if self.h:
            self.lib.mlt_model_free(self.h)
            self.h = C.c_void_p()

    __del__ = close

    def num_parameters(self):
        n = C.c_int64()
        self._check(self.lib.mlt_model_num_parameters(C.byref(n), self.h))
        return n.value

    def state(self):
        """[(name, shape)] in the engine's order."""
        n = C.c_int32()
        self._check(self.lib.mlt_model_state_count(C.byref(n), self.h))
        out = []
        for i in range(n.value):
            name = C.create_string_buffer(256)
            shape = (C.c_int64 * 8)()
            nd = C.c_int32()
            self._check(self.lib.mlt_model_state_info(name, 256, shape, C.byref(nd), self.h, i))
            out.append((name.value.decode(), tuple(shape[: nd.value])))
        return out

    def read(self, name, grad=False):
        shape = dict(self.state())[name]
        buf = np.zeros(shape, dtype=np.float32)
        self._check(self.lib.mlt_model_state_read(buf.ctypes.data_as(PF), self.h, name.encode(), int(grad),
                                                  C.c_int64(buf.size)))
        return buf

    def write(self, name, arr):
        a = np.ascontiguousarray(arr, dtype=np.float32)
        self._check(self.lib.mlt_model_state_write(self.h, name.encode(), a.ctypes.data_as(PF), C.c_int64(a.size)))

    def set_optimizer(self, kind=0, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, clip=0.0):
        o = OptimConfig(kind, beta1, beta2, eps, weight_decay, clip)
        self._check(self.lib.mlt_model_set_optimizer(self.h, C.byref(o)))

    def set_seed(self, seed):
        self._check(self.lib.mlt_model_set_seed(self.h, C.c_uint64(seed)))

    def set_precision(self, bf16):
        self._check(self.lib.mlt_model_set_precision(self.h, 1 if bf16 else 0))

    def set_threads(self, n):
        self._check(self.lib.mlt_model_set_threads(self.h, n))

    def train_step(self, tokens, targets, src=None, lr=1e-3):
        tokens, targets = np.ascontiguousarray(tokens, np.int64), np.ascontiguousarray(targets, np.int64)
        src = None if src is None else np.ascontiguousarray(src, np.int64)
        loss, norm = C.c_float(), C.c_float()
        B, T = tokens.shape
        S = 0 if src is None else src.shape[1]
        self._check(self.lib.mlt_model_train_step(C.byref(loss), C.byref(norm), self.h, *ids(tokens), *ids(targets),
                                                  *ids(src), B, T, S, C.c_float(lr)))
        return loss.value, norm.value

    def eval_loss(self, tokens, targets, src=None):
        tokens, targets = np.ascontiguousarray(tokens, np.int64), np.ascontiguousarray(targets, np.int64)
        src = None if src is None else np.ascontiguousarray(src, np.int64)
        s, n = C.c_double(), C.c_int64()
        B, T = tokens.shape
        S = 0 if src is None else src.shape[1]
        self._check(self.lib.mlt_model_eval_loss(C.byref(s), C.byref(n), self.h, *ids(tokens), *ids(targets),
                                                 *ids(src), B, T, S))
        return s.value, n.value

    def forward(self, tokens, src=None, attn=True):
        tokens = np.ascontiguousarray(tokens, np.int64)
        src = None if src is None else np.ascontiguousarray(src, np.int64)
        c = self.cfg
        B, T = tokens.shape
        S = 0 if src is None else src.shape[1]
        V, H, L, Le = c.vocab_size, c.n_heads, c.n_layers, c.n_encoder_layers
        logits = np.zeros((B, T, V), np.float32)
        sa = np.zeros((L, B, H, T, T), np.float32) if attn else None
        ed = c.kind == 1 and attn
        ea = np.zeros((Le, B, H, S, S), np.float32) if ed else None
        ca = np.zeros((L, B, H, T, S), np.float32) if ed else None

        def ptr(a):
            return (None, 0) if a is None else (a.ctypes.data_as(PF), a.size)

        args = [*ptr(logits), *ptr(sa), *ptr(ea), *ptr(ca)]
        args = [a if not isinstance(a, int) else C.c_int64(a) for a in args]
        self._check(self.lib.mlt_model_forward(*args, self.h, *ids(tokens), *ids(src), B, T, S))
        return logits, sa, ea, ca

    def decoder(self, src=None):
        """An incremental decoder (mlt_decoder) over this model, for one sequence against src (1, S) or None."""
        return Decoder(self, src)


class Decoder:
    """Owner of an mlt_decoder*: feed(tokens) -> logits (n, V) of the positions just fed."""

    def __init__(self, model, src=None):
        self.model, self.lib = model, model.lib
        self.lib.mlt_decoder_free.restype = None
        self.h = C.c_void_p()
        src = None if src is None else np.ascontiguousarray(src, np.int64)
        S = 0 if src is None else src.shape[-1]
        model._check(self.lib.mlt_decoder_create(C.byref(self.h), model.h, i64(src), C.c_int32(S)))

    def feed(self, tokens):
        tokens = np.ascontiguousarray(tokens, np.int64).reshape(-1)
        logits = np.zeros((tokens.size, self.model.cfg.vocab_size), np.float32)
        self.model._check(self.lib.mlt_decoder_feed(logits.ctypes.data_as(PF), C.c_int64(logits.size), self.h,
                                                    i64(tokens), C.c_int32(tokens.size)))
        return logits

    def close(self):
        if self.h:
            self.lib.mlt_decoder_free(self.h)
            self.h = C.c_void_p()
