#!/usr/bin/python3
"""Write a random-weight checkpoint of Llama-3.2-1B's size, laid out like HF
`LlamaModel.save_pretrained`: config.json + model.safetensors in BF16 (about 2.5 GB).

16 layers, 32 heads of 64, 8 key/value heads, hidden 2048, intermediate 8192, vocabulary
128256, rope_theta 500000, tied embeddings, 131072 positions (RoPE scaling left out: attnscope
refuses the llama3 variant, and random weights do not need it). Tensors are generated and
written one at a time, so the script needs about one tensor's memory, not the checkpoint's.

Usage: /usr/bin/python3 tools/bench/make_llama_1b.py OUTDIR [--seed 0] [--layers 16]
"""
import argparse
import json
import os
import struct

import numpy as np

HIDDEN, INTER, HEADS, KV, VOCAB = 2048, 8192, 32, 8, 128256
HEAD_DIM = HIDDEN // HEADS


def bf16(a):
    """float32 -> bfloat16 bits (round to nearest even), as uint16."""
    bits = a.astype("<f4").view("<u4")
    rounded = bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))
    return (rounded >> np.uint32(16)).astype("<u2")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--layers", type=int, default=16)
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    rng = np.random.default_rng(args.seed)

    # name -> (shape, kind): "normal" weights std 0.02, "norm" weights 1 + N(0, 0.02)
    shapes = {"model.embed_tokens.weight": ((VOCAB, HIDDEN), "normal"),
              "model.norm.weight": ((HIDDEN,), "norm")}
    for i in range(args.layers):
        p = f"model.layers.{i}."
        shapes[p + "input_layernorm.weight"] = ((HIDDEN,), "norm")
        shapes[p + "post_attention_layernorm.weight"] = ((HIDDEN,), "norm")
        shapes[p + "self_attn.q_proj.weight"] = ((HEADS * HEAD_DIM, HIDDEN), "normal")
        shapes[p + "self_attn.k_proj.weight"] = ((KV * HEAD_DIM, HIDDEN), "normal")
        shapes[p + "self_attn.v_proj.weight"] = ((KV * HEAD_DIM, HIDDEN), "normal")
        shapes[p + "self_attn.o_proj.weight"] = ((HIDDEN, HEADS * HEAD_DIM), "normal")
        shapes[p + "mlp.gate_proj.weight"] = ((INTER, HIDDEN), "normal")
        shapes[p + "mlp.up_proj.weight"] = ((INTER, HIDDEN), "normal")
        shapes[p + "mlp.down_proj.weight"] = ((HIDDEN, INTER), "normal")

    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name in sorted(shapes):
        shape, _ = shapes[name]
        nbytes = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((-len(hb)) % 8)
    with open(os.path.join(args.outdir, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for name in sorted(shapes):
            shape, kind = shapes[name]
            a = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
            if kind == "norm":
                a += np.float32(1.0)
            f.write(memoryview(bf16(a).reshape(-1)).cast("B"))

    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": HIDDEN,
        "intermediate_size": INTER,
        "num_hidden_layers": args.layers,
        "num_attention_heads": HEADS,
        "num_key_value_heads": KV,
        "head_dim": HEAD_DIM,
        "hidden_act": "silu",
        "max_position_embeddings": 131072,
        "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0,
        "attention_bias": False,
        "mlp_bias": False,
        "tie_word_embeddings": True,
        "vocab_size": VOCAB,
        "torch_dtype": "bfloat16",
        "bos_token_id": 128000,
        "eos_token_id": 128001,
    }
    with open(os.path.join(args.outdir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    params = sum(int(np.prod(s)) for s, _ in shapes.values())
    print(f"wrote {args.outdir}: {len(shapes)} tensors, {params} params (BF16)")


if __name__ == "__main__":
    main()
