#!/usr/bin/python3
"""Seed corpora for the fuzz targets, from the test fixtures (Python standard library only).

    /usr/bin/python3 fuzz/make_corpora.py OUT_DIR

writes OUT_DIR/<target>/<seed> for every target in fuzz/CMakeLists.txt. Targets whose input
starts with a selector byte (tokenizer_encode: which tokenizer; attention_file: which format)
get that byte prepended here.
"""
import glob
import io
import json
import os
import struct
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
ORACLE = os.path.join(DATA, "oracle")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def safetensors(tensors, metadata=None):
    """tensors: {name: (dtype, shape, bytes)} -> the file's bytes."""
    header, offset, blobs = {}, 0, []
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def floats(values):
    return struct.pack("<%df" % len(values), *values)


def npy(shape, values, descr="<f4"):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, "".join("%d," % d for d in shape))
    header = header.encode() + b" " * (-(len(header) + 11) % 64) + b"\n"
    packed = floats(values) if descr == "<f4" else struct.pack("<%de" % len(values), *values)
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + packed


def npz(arrays):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        for name, data in arrays.items():
            z.writestr(name + ".npy", data)
    return buffer.getvalue()


def uniform_attention(layers, heads, tokens):
    """Causal attention rows, each summing to one: [layers, heads, tokens, tokens]."""
    values = []
    for _ in range(layers * heads):
        for i in range(tokens):
            values += [1.0 / (i + 1) if j <= i else 0.0 for j in range(tokens)]
    return values


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "fuzz-corpora"
    seeds = {name: {} for name in ("safetensors", "shard_index", "config", "tokenizer_json",
                                   "tokenizer_encode", "attention_file", "image")}

    # safetensors: the small reference outputs and the smallest checkpoints, plus tiny files of
    # every dtype.
    for path in sorted(glob.glob(os.path.join(ORACLE, "*", "case0.safetensors"))):
        seeds["safetensors"][os.path.basename(os.path.dirname(path)) + "-case0"] = read(path)
    seeds["safetensors"]["vit-model"] = read(os.path.join(ORACLE, "vit", "model", "model.safetensors"))
    for dtype, size in (("F32", 4), ("F16", 2), ("BF16", 2), ("F64", 8), ("I64", 8), ("I32", 4),
                        ("I8", 1), ("U8", 1), ("BOOL", 1)):
        seeds["safetensors"]["tiny-" + dtype] = safetensors(
            {"a": (dtype, [2, 3], bytes(range(6 * size))), "b": (dtype, [], bytes(size))},
            {"format": "pt"})

    # shard indexes naming the shard the target writes (shard-1.safetensors), and broken ones.
    seeds["shard_index"]["one-shard"] = json.dumps(
        {"metadata": {"total_size": 16}, "weight_map": {"w": "shard-1.safetensors"}}).encode()
    seeds["shard_index"]["two-names"] = json.dumps(
        {"weight_map": {"w": "shard-1.safetensors", "v": "shard-1.safetensors"}}).encode()
    seeds["shard_index"]["missing-shard"] = json.dumps(
        {"weight_map": {"w": "shard-2.safetensors"}}).encode()

    for path in sorted(glob.glob(os.path.join(ORACLE, "*", "model", "config.json")) +
                       glob.glob(os.path.join(ROOT, "resources", "models", "*", "config.json"))):
        seeds["config"][path.split(os.sep)[-3] + "-" + path.split(os.sep)[-2]] = read(path)

    # tokenizer.json files under 200 kB (GPT-2's 3.5 MB one would slow every run down).
    tokenizer_files = sorted(set(
        glob.glob(os.path.join(ORACLE, "*", "model", "tokenizer.json")) +
        glob.glob(os.path.join(ORACLE, "tokenizers", "*-tokenizer.json")) +
        glob.glob(os.path.join(ORACLE, "tokenizers-more", "*", "tokenizer.json")) +
        [os.path.join(ROOT, "resources", "models", "default", "tokenizer.json")]))
    seen = set()
    for path in tokenizer_files:
        data = read(path)
        if len(data) > 200_000 or data in seen:
            continue
        seen.add(data)
        seeds["tokenizer_json"][path.split(os.sep)[-2] + "-" + os.path.basename(path)] = data

    # texts from the tokenizer test vectors, each for every tokenizer (the first byte selects
    # it, modulo the number of tokenizers the target loads).
    texts = []
    for vectors in (os.path.join(ORACLE, "tokenizers", "vectors.json"),
                    os.path.join(ORACLE, "tokenizers-more", "vectors.json")):
        def collect(node):
            if isinstance(node, dict):
                for key, value in node.items():
                    if key in ("text", "pair") and isinstance(value, str):
                        texts.append(value)
                    else:
                        collect(value)
            elif isinstance(node, list):
                for value in node:
                    collect(value)
        collect(json.load(open(vectors, encoding="utf-8")))
    texts = sorted(set(texts))[:40]
    for selector in range(10):
        for i, text in enumerate(texts):
            seeds["tokenizer_encode"]["t%d-%02d" % (selector, i)] = bytes([selector]) + text.encode()
        seeds["tokenizer_encode"]["t%d-pair" % selector] = bytes([selector]) + b"Hello world\x01and a pair"

    # attention files: selector 0 = .safetensors, 1 = .npy, 2 = .npz.
    attention = uniform_attention(2, 2, 3)
    seeds["attention_file"]["dump"] = b"\x00" + safetensors(
        {"attentions": ("F32", [2, 2, 3, 3], floats(attention))},
        {"tokens": json.dumps(["a", "b", "c"])})
    seeds["attention_file"]["per-layer"] = b"\x00" + safetensors(
        {"attentions.0": ("F32", [1, 2, 3, 3], floats(attention[:18])),
         "attentions.1": ("F32", [1, 2, 3, 3], floats(attention[18:]))})
    seeds["attention_file"]["npy-f4"] = b"\x01" + npy((2, 2, 3, 3), attention)
    seeds["attention_file"]["npy-f2"] = b"\x01" + npy((2, 3, 3), attention[:18], "<f2")
    seeds["attention_file"]["npz"] = b"\x02" + npz({"attentions": npy((2, 2, 3, 3), attention)})
    seeds["attention_file"]["npz-per-layer"] = b"\x02" + npz(
        {"attentions.0": npy((2, 3, 3), attention[:18]), "attentions.1": npy((2, 3, 3), attention[18:])})

    for path in sorted(glob.glob(os.path.join(DATA, "images", "*"))):
        if path.endswith((".png", ".jpg", ".gif")) and os.path.getsize(path) < 40_000:
            seeds["image"][os.path.basename(path)] = read(path)

    for target, files in seeds.items():
        folder = os.path.join(out, target)
        os.makedirs(folder, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
        print("%-18s %4d seeds" % (target, len(files)))


if __name__ == "__main__":
    main()
