#!/usr/bin/python3
"""Write a tokenizer.json of Qwen2 / Llama-3 size into OUTDIR: a byte-level BPE with N entries
(the 256 byte characters, then merges of two existing tokens, seeded), as `attnscope bench
--model OUTDIR` times reading it. The same recipe as tests/tokenizer/big_bpe_tokenizer.h.

Usage: /usr/bin/python3 tools/bench/make_big_tokenizer.py OUTDIR [--vocab 150000] [--pairs]
"""
import argparse
import json
import os
import random


def bytes_to_unicode():
    bs = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs))
    return [chr(table[b]) for b in range(256)]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--vocab", type=int, default=150000)
    ap.add_argument("--pairs", action="store_true", help='merges as [["a", "b"], ...]')
    args = ap.parse_args()
    rng = random.Random(20260)
    tokens = bytes_to_unicode()
    known = set(tokens)
    common = [tokens.index(c) for c in "etaoinshrdlucmfwypvbgkqjxzĠETAOINS"]
    merges = []
    while len(tokens) < args.vocab:
        def pick():
            r = rng.randrange(10)
            if r < 6:
                return rng.choice(common)
            if r < 9:
                return rng.randrange(min(len(tokens), 4096))
            return rng.randrange(len(tokens))
        a, b = pick(), pick()
        merged = tokens[a] + tokens[b]
        if len(merged) > 16 or merged in known:
            continue
        known.add(merged)
        merges.append((tokens[a], tokens[b]))
        tokens.append(merged)
    doc = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": len(tokens), "content": "<|endoftext|>", "single_word": False,
                          "lstrip": False, "rstrip": False, "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False,
                  "byte_fallback": False, "ignore_merges": False,
                  "vocab": {t: i for i, t in enumerate(tokens)},
                  "merges": [list(m) for m in merges] if args.pairs
                  else [f"{a} {b}" for a, b in merges]},
    }
    os.makedirs(args.outdir, exist_ok=True)
    path = os.path.join(args.outdir, "tokenizer.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=2)
    print(f"wrote {path}: {len(tokens)} tokens, {len(merges)} merges, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
