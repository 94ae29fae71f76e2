#!/usr/bin/python3
"""Write a random-weight Llama-shape checkpoint folder (config.json + model.safetensors, float32), laid
out like HF `LlamaForCausalLM.save_pretrained` without the LM head.

Default shape: the dump benchmark's model, 8 layers, 16 heads of 32, 4 key/value heads,
hidden 512, intermediate 1024, vocabulary 32000, 16384 positions (53.7 GFLOP for a T = 1024
pass, counting attention over all T x T positions).

Usage: /usr/bin/python3 tools/bench/make_llama_small.py OUTDIR [--seed 0] [--layers 8]
       [--heads 16] [--kv-heads 4] [--hidden 512] [--intermediate 1024] [--vocab 32000]
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--intermediate", type=int, default=1024)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--positions", type=int, default=16384)
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    D, H, KV, I = args.hidden, args.heads, args.kv_heads, args.intermediate
    d = D // H

    def normal(*shape, std=0.08):
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(std)

    def norm():
        return np.float32(1.0) + normal(D, std=0.02)

    t = {"model.embed_tokens.weight": normal(args.vocab, D, std=0.02), "model.norm.weight": norm()}
    for layer in range(args.layers):
        p = f"model.layers.{layer}."
        t[p + "input_layernorm.weight"] = norm()
        t[p + "post_attention_layernorm.weight"] = norm()
        t[p + "self_attn.q_proj.weight"] = normal(H * d, D)
        t[p + "self_attn.k_proj.weight"] = normal(KV * d, D)
        t[p + "self_attn.v_proj.weight"] = normal(KV * d, D)
        t[p + "self_attn.o_proj.weight"] = normal(D, H * d)
        t[p + "mlp.gate_proj.weight"] = normal(I, D)
        t[p + "mlp.up_proj.weight"] = normal(I, D)
        t[p + "mlp.down_proj.weight"] = normal(D, I)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "num_hidden_layers": args.layers, "num_attention_heads": H, "num_key_value_heads": KV,
        "hidden_size": D, "intermediate_size": I, "vocab_size": args.vocab,
        "max_position_embeddings": args.positions, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
        "hidden_act": "silu", "tie_word_embeddings": False,
        "torch_dtype": "float32",
    }
    with open(os.path.join(args.outdir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    st_io.write(os.path.join(args.outdir, "model.safetensors"), t, {"format": "pt"})
    n = sum(a.size for a in t.values())
    print(f"wrote {args.outdir}: {len(t)} tensors, {n} params")


if __name__ == "__main__":
    main()
