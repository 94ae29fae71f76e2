#!/usr/bin/python3
"""Byte-level BPE (the GPT-2 scheme): trainer, encoder, and a writer for Hugging Face's
tokenizer.json, so the app reads the result with the same code as any hub tokenizer.

Pre-tokenisation is GPT-2's regex over the text mapped to bytes-as-characters
("Ġ" = space); merges are learnt greedily by pair frequency over the pre-token counts
(ties broken by the pair's characters, so training is deterministic). The single special
token <|endoftext|> separates documents and is put in front of every encoded text as BOS
(TemplateProcessing), giving heads a fixed "sink" position to attend to.

Usage: /usr/bin/python3 tools/train/bpe.py CORPUS.txt OUTDIR [--vocab 4096]
"""
import argparse
import collections
import heapq
import json
import os
import sys

import regex

GPT2_PATTERN = regex.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
SPECIAL = "<|endoftext|>"


def bytes_to_unicode():
    """GPT-2's reversible map from the 256 bytes to printable characters."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_CHAR = bytes_to_unicode()


def pretokens(text):
    for piece in GPT2_PATTERN.findall(text):
        yield "".join(BYTE_CHAR[b] for b in piece.encode("utf-8"))


def train(lines, vocab_size):
    counts = collections.Counter()
    for line in lines:
        counts.update(pretokens(line))
    words = [list(w) for w in counts]
    freq = [counts[w] for w in counts]
    pair_count = collections.Counter()
    where = collections.defaultdict(set)  # pair -> indices of words holding it
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pair_count[(a, b)] += freq[i]
            where[(a, b)].add(i)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    base = [BYTE_CHAR[b] for b in range(256)]
    merges = []
    target = vocab_size - len(base) - 1  # one id for the special token
    while len(merges) < target and heap:
        negc, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -negc or -negc <= 0:
            continue  # stale entry
        merges.append(pair)
        merged = pair[0] + pair[1]
        touched = collections.Counter()
        for i in list(where[pair]):
            w = words[i]
            f = freq[i]
            for a, b in zip(w, w[1:]):
                pair_count[(a, b)] -= f
                touched[(a, b)] += 0
            out = []
            j = 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == pair[0] and w[j + 1] == pair[1]:
                    out.append(merged)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for a, b in zip(out, out[1:]):
                pair_count[(a, b)] += f
                where[(a, b)].add(i)
                touched[(a, b)] += 0
        del where[pair]
        pair_count.pop(pair, None)
        for p in touched:
            if pair_count.get(p, 0) > 0:
                heapq.heappush(heap, (-pair_count[p], p))
    vocab = {c: i for i, c in enumerate(base)}
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab[SPECIAL] = len(vocab)
    return vocab, merges


class Encoder:
    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.ranks = {tuple(m): i for i, m in enumerate(merges)}
        self.cache = {}
        self.eot = vocab[SPECIAL]

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        w = list(token)
        while len(w) > 1:
            best = min(((self.ranks.get((a, b), 1 << 30), k) for k, (a, b) in
                        enumerate(zip(w, w[1:]))))
            if best[0] == 1 << 30:
                break
            k = best[1]
            w = w[:k] + [w[k] + w[k + 1]] + w[k + 2:]
        ids = [self.vocab[p] for p in w]
        self.cache[token] = ids
        return ids

    def encode(self, text, bos=True):
        ids = [self.eot] if bos else []
        for t in pretokens(text):
            ids.extend(self.bpe(t))
        return ids


def tokenizer_json(vocab, merges):
    eot = vocab[SPECIAL]
    bos = {"SpecialToken": {"id": SPECIAL, "type_id": 0}}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": eot, "content": SPECIAL, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [bos, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [bos, {"Sequence": {"id": "A", "type_id": 0}}, bos,
                     {"Sequence": {"id": "B", "type_id": 0}}],
            "special_tokens": {SPECIAL: {"id": SPECIAL, "ids": [eot], "tokens": [SPECIAL]}},
        },
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False,
                  "byte_fallback": False, "ignore_merges": False, "vocab": vocab,
                  "merges": [a + " " + b for a, b in merges]},
    }


def load(tokenizer_path):
    with open(tokenizer_path, encoding="utf-8") as f:
        t = json.load(f)
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m)
              for m in t["model"]["merges"]]
    return Encoder(t["model"]["vocab"], merges)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("outdir")
    ap.add_argument("--vocab", type=int, default=4096)
    args = ap.parse_args()
    with open(args.corpus, encoding="utf-8") as f:
        lines = f.read().splitlines()
    vocab, merges = train(lines, args.vocab)
    os.makedirs(args.outdir, exist_ok=True)
    with open(os.path.join(args.outdir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(vocab, merges), f, ensure_ascii=False)
    enc = Encoder(vocab, merges)
    sample = "The cat sat on the mat because it was tired."
    inv = {i: t for t, i in vocab.items()}
    print(f"vocab {len(vocab)}, merges {len(merges)}; sample:",
          [inv[i] for i in enc.encode(sample)], file=sys.stderr)


if __name__ == "__main__":
    main()
