#!/usr/bin/python3
"""Write a random-weight GPT-2-small-shaped checkpoint folder, laid out like
HF `GPT2Model.save_pretrained`: config.json + model.safetensors (float32).

Usage: /usr/bin/python3 tools/bench/make_gpt2_small.py OUTDIR [--seed 0]
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

N_LAYER, N_HEAD, N_EMBD, N_POS, VOCAB = 12, 12, 768, 1024, 50257


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    rng = np.random.default_rng(args.seed)

    def normal(*shape, std=0.02):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std))

    def ln_w():
        return np.float32(1.0) + normal(N_EMBD, std=0.02)

    def ln_b():
        return normal(N_EMBD, std=0.02)

    E = N_EMBD
    t = {"wte.weight": normal(VOCAB, E), "wpe.weight": normal(N_POS, E)}
    for i in range(N_LAYER):
        p = f"h.{i}."
        t[p + "ln_1.weight"] = ln_w()
        t[p + "ln_1.bias"] = ln_b()
        t[p + "attn.c_attn.weight"] = normal(E, 3 * E)
        t[p + "attn.c_attn.bias"] = normal(3 * E)
        t[p + "attn.c_proj.weight"] = normal(E, E)
        t[p + "attn.c_proj.bias"] = normal(E)
        t[p + "ln_2.weight"] = ln_w()
        t[p + "ln_2.bias"] = ln_b()
        t[p + "mlp.c_fc.weight"] = normal(E, 4 * E)
        t[p + "mlp.c_fc.bias"] = normal(4 * E)
        t[p + "mlp.c_proj.weight"] = normal(4 * E, E)
        t[p + "mlp.c_proj.bias"] = normal(E)
    t["ln_f.weight"] = ln_w()
    t["ln_f.bias"] = ln_b()

    config = {
        "architectures": ["GPT2Model"],
        "model_type": "gpt2",
        "n_layer": N_LAYER,
        "n_head": N_HEAD,
        "n_embd": N_EMBD,
        "n_positions": N_POS,
        "n_ctx": N_POS,
        "vocab_size": VOCAB,
        "n_inner": None,
        "activation_function": "gelu_new",
        "layer_norm_epsilon": 1e-5,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "bos_token_id": 50256,
        "eos_token_id": 50256,
    }
    with open(os.path.join(args.outdir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    st_io.write(os.path.join(args.outdir, "model.safetensors"), t, {"format": "pt"})
    n = sum(a.size for a in t.values())
    print(f"wrote {args.outdir}: {len(t)} tensors, {n} params")


if __name__ == "__main__":
    main()
