#!/usr/bin/env python3
"""Attention of a Hugging Face model, computed where the model fits (a GPU box, a cluster node),
written as a safetensors file that `attnscope` opens without the model:

    attnscope info --attention OUT.safetensors
    attnscope export --attention OUT.safetensors --view grid -o grid.png
    attnscope --attention OUT.safetensors          # the workbench

Needs torch, transformers and safetensors (pip install torch transformers safetensors accelerate).
Not run by attnscope's CI; tests/core/tst_attention_file writes the same layouts itself.

usage: hf_dump.py MODEL (--text S | --text-file F) -o OUT.safetensors
                  [--layers 7,8] [--dtype f16|bf16|f32] [--model-dtype auto|f16|bf16|f32]
                  [--device-map auto] [--max-tokens N]

File layout (what attnscope reads):
  all layers:     attentions.0 … attentions.{L-1}  [heads, T, T]  (as HF returns them, batch dropped)
  --layers a,b:   attentions [len(layers), heads, T, T], the layers in the order given
  input_ids       I64 [T]
  metadata        "tokens" (JSON list of the tokenizer's token strings), "text", "model",
                  "attention_layers" (JSON list of the original layer indices)
Size: layers × heads × T² × 2 bytes in f16/bf16 (× 4 in f32); e.g. a 70B Llama (80 layers ×
64 heads) at T = 4096 is 80·64·4096²·2 B = 172 GB for all layers, 2.1 GB for one layer.
"""
import argparse
import json
import sys

import torch
from safetensors.torch import save_file
from transformers import AutoModel, AutoTokenizer

DTYPES = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="Hugging Face model id or local folder")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--text")
    source.add_argument("--text-file")
    p.add_argument("-o", "--output", required=True, help="OUT.safetensors")
    p.add_argument("--layers", help="comma-separated layer indices to keep (default: all)")
    p.add_argument("--dtype", default="f16", choices=DTYPES, help="stored attention type (default f16)")
    p.add_argument("--model-dtype", default="auto", choices=["auto", *DTYPES],
                   help="dtype the model runs in (default: the checkpoint's)")
    p.add_argument("--device-map", default="auto", help='passed to from_pretrained (default "auto")')
    p.add_argument("--max-tokens", type=int, default=None, help="cut the text to N tokens")
    args = p.parse_args()

    if not args.output.endswith(".safetensors"):
        sys.exit("hf_dump: -o must end in .safetensors")
    text = args.text if args.text is not None else open(args.text_file, encoding="utf-8").read()

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModel.from_pretrained(
        args.model,
        device_map=args.device_map,
        torch_dtype="auto" if args.model_dtype == "auto" else DTYPES[args.model_dtype],
        attn_implementation="eager",  # only eager attention returns the weights
    )
    model.eval()
    encoded = tokenizer(text, return_tensors="pt", truncation=args.max_tokens is not None,
                        max_length=args.max_tokens)
    first_device = next(model.parameters()).device
    encoded = {k: v.to(first_device) for k, v in encoded.items()}
    with torch.no_grad():
        out = model(**encoded, output_attentions=True)
    attentions = out.attentions  # one [1, heads, T, T] per layer
    if attentions is None or len(attentions) == 0:
        sys.exit("hf_dump: the model returned no attention (is attn_implementation='eager' supported?)")

    store = DTYPES[args.dtype]
    n_layers = len(attentions)
    if args.layers:
        layers = [int(x) for x in args.layers.split(",")]
        bad = [l for l in layers if not 0 <= l < n_layers]
        if bad:
            sys.exit(f"hf_dump: layers {bad} not in the model (0…{n_layers - 1})")
        tensors = {"attentions": torch.stack([attentions[l][0].to("cpu", store) for l in layers]).contiguous()}
    else:
        layers = list(range(n_layers))
        tensors = {f"attentions.{l}": attentions[l][0].to("cpu", store).contiguous() for l in layers}
    ids = encoded["input_ids"][0].to("cpu", torch.int64)
    tensors["input_ids"] = ids.contiguous()
    metadata = {
        "tokens": json.dumps(tokenizer.convert_ids_to_tokens(ids.tolist()), ensure_ascii=False),
        "text": text,
        "model": args.model,
        "attention_layers": json.dumps(layers),
    }
    save_file(tensors, args.output, metadata=metadata)
    t = ids.shape[0]
    heads = attentions[0].shape[1]
    print(f"{args.output}: {len(layers)} layers x {heads} heads x {t} tokens, {args.dtype}")


if __name__ == "__main__":
    main()
