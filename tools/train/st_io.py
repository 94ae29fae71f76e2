"""Minimal hand-written safetensors reader/writer (float32/float64/int32/int64 only).

Format: 8-byte little-endian u64 header length N, then N bytes of JSON header
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}
(padded with spaces to a multiple of 8), then the raw little-endian tensor bytes.
No dependency on the `safetensors` package.
"""
import json
import struct

import numpy as np

_NP2ST = {np.dtype("<f4"): "F32", np.dtype("<f8"): "F64",
          np.dtype("<i4"): "I32", np.dtype("<i8"): "I64"}
_ST2NP = {v: k for k, v in _NP2ST.items()}


def write(path, tensors, metadata=None):
    """tensors: dict name -> numpy array (or torch tensor). Written in sorted-name order."""
    arrays = {}
    for name in sorted(tensors):
        a = tensors[name]
        if hasattr(a, "detach"):  # torch tensor
            a = a.detach().cpu().contiguous().numpy()
        a = np.ascontiguousarray(a)
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        if a.dtype not in _NP2ST:
            raise TypeError(f"{name}: unsupported dtype {a.dtype}")
        arrays[name] = a
    header = {}
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    off = 0
    for name, a in arrays.items():
        header[name] = {"dtype": _NP2ST[a.dtype], "shape": list(a.shape),
                        "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((-len(hb)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for a in arrays.values():
            f.write(memoryview(a.reshape(-1)).cast("B"))


def read(path):
    """Returns (dict name -> numpy array (copies), metadata dict)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
        data = f.read()
    meta = header.pop("__metadata__", {}) or {}
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        dt = _ST2NP[info["dtype"]]
        out[name] = np.frombuffer(data, dtype=dt, count=(e - b) // dt.itemsize,
                                  offset=b).reshape(info["shape"]).copy()
    return out, meta
