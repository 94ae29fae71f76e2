#!/usr/bin/python3
"""Extract an English training corpus from text that Debian ships, one document per line.

Sources (install with `apt-get install wordnet-base fortunes bible-kjv`):
  - WordNet 3.0 glosses and their example sentences (/usr/share/wordnet/data.*),
    WordNet 3.0 licence (permissive, BSD-like; Princeton University).
  - fortune cookies (/usr/share/games/fortunes/*, the non-offensive set of `fortunes`
    and `fortunes-min`), BSD licence / public domain quotations.
  - The King James Bible (`bible` from bible-kjv, data in bible-kjv-text), public domain.

Documents are whitespace-normalised. A document goes to the held-out split when the
hash of its text says so (2 %), so the split is stable across runs and machines.

Usage: /usr/bin/python3 tools/train/corpus.py OUTDIR
Writes OUTDIR/train.txt and OUTDIR/heldout.txt.
"""
import glob
import hashlib
import os
import re
import subprocess
import sys

HELDOUT_PERCENT = 2


def normalise(text):
    return re.sub(r"\s+", " ", text).strip()


def wordnet_docs():
    for path in sorted(glob.glob("/usr/share/wordnet/data.*")):
        if path.endswith((".verb", ".noun", ".adj", ".adv")):
            with open(path, encoding="latin-1") as f:
                for line in f:
                    if line.startswith("  ") or "|" not in line:
                        continue  # licence header
                    gloss = line.split("|", 1)[1].strip()
                    # "definition; \"example one\"; \"example two\""
                    parts = [p.strip() for p in gloss.split(";")]
                    definition = []
                    for p in parts:
                        if p.startswith('"'):
                            example = p.strip('"').strip()
                            if len(example.split()) >= 3:
                                if example[-1] not in ".!?":
                                    example += "."
                                yield normalise(example[0].upper() + example[1:])
                        elif p:
                            definition.append(p)
                    if definition:
                        d = "; ".join(definition)
                        yield normalise(d[0].upper() + d[1:] + ".")


def fortune_docs():
    for path in sorted(glob.glob("/usr/share/games/fortunes/*")):
        if path.endswith((".dat", ".u8")) or os.path.isdir(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for doc in text.split("\n%\n"):
            doc = normalise(doc.strip("%"))
            if len(doc.split()) >= 3:
                yield doc


def bible_docs():
    out = subprocess.run(["bible", "-l1000000", "Gen1:1-Rev22:21"], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        m = re.match(r"^\s*\d+\s+(.*)$", line)
        if m and len(m.group(1).split()) >= 3:
            yield normalise(m.group(1))


def is_heldout(doc):
    return int(hashlib.sha1(doc.encode("utf-8")).hexdigest(), 16) % 100 < HELDOUT_PERCENT


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    seen = set()
    counts = {}
    with open(os.path.join(outdir, "train.txt"), "w", encoding="utf-8") as train, \
         open(os.path.join(outdir, "heldout.txt"), "w", encoding="utf-8") as held:
        for name, docs in (("wordnet", wordnet_docs()), ("fortunes", fortune_docs()),
                           ("bible", bible_docs())):
            n = 0
            for doc in docs:
                if doc in seen:
                    continue
                seen.add(doc)
                (held if is_heldout(doc) else train).write(doc + "\n")
                n += 1
            counts[name] = n
    print("documents:", counts, file=sys.stderr)


if __name__ == "__main__":
    main()
