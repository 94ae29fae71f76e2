#!/usr/bin/python3
"""A tiny DeiT checkpoint made from the ViT fixture (../oracle/vit/model), and its attention
computed here with a plain numpy forward pass written from the DeiT paper and transformers'
modeling_deit.py (no transformers involved): the sequence is [CLS], [DIST], then the patches;
positions are learned for all of them.

The new tensors are a distillation token and a position embedding for it (inserted after
[CLS]'s), drawn from a seeded generator; every other weight is the ViT fixture's, renamed from
`vit.` to `deit.`. Writes model/ (config.json model_type "deit", model.safetensors,
preprocessor_config.json with DeiT's bicubic resize + centre crop) and reference.safetensors
(pixel_values [3, 32, 32] = the ViT fixture's case0 input, attentions [L, H, T, T]).
Run from this folder with /usr/bin/python3 (python3-numpy)."""
import json, math, os, struct
import numpy as np

def load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        assert v["dtype"] == "F32"
        out[k] = np.frombuffer(raw[8 + n + a:8 + n + b], np.float32).reshape(v["shape"])
    return out

def save(path, tensors):
    header, offset, blobs = {}, 0, []
    for k, t in tensors.items():
        b = np.ascontiguousarray(t, np.float32).tobytes()
        header[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

vit_dir = "../oracle/vit"
weights = {k.replace("vit.", "deit.", 1): v for k, v in load(f"{vit_dir}/model/model.safetensors").items()}
config = json.load(open(f"{vit_dir}/model/config.json"))
D = config["hidden_size"]
rng = np.random.default_rng(31)
pos = weights["deit.embeddings.position_embeddings"]  # [1, N+1, D]
dist_pos = rng.normal(0, 1.0, (1, 1, D)).astype(np.float32)
weights["deit.embeddings.position_embeddings"] = np.concatenate([pos[:, :1], dist_pos, pos[:, 1:]], 1)
weights["deit.embeddings.distillation_token"] = rng.normal(0, 1.0, (1, 1, D)).astype(np.float32)
# DeiTForImageClassificationWithTeacher has two heads; the fixture's classifier stands for both.
weights["cls_classifier.weight"] = weights.pop("classifier.weight")
weights["cls_classifier.bias"] = weights.pop("classifier.bias")
weights["distillation_classifier.weight"] = weights["cls_classifier.weight"][::-1].copy()
weights["distillation_classifier.bias"] = weights["cls_classifier.bias"][::-1].copy()
os.makedirs("model", exist_ok=True)
save("model/model.safetensors", weights)
config["model_type"] = "deit"
config["architectures"] = ["DeiTForImageClassificationWithTeacher"]
json.dump(config, open("model/config.json", "w"), indent=2)
json.dump({"image_processor_type": "DeiTImageProcessor", "do_resize": True,
           "size": {"height": 36, "width": 36}, "resample": 3, "do_center_crop": True,
           "crop_size": {"height": 32, "width": 32}, "do_rescale": True,
           "rescale_factor": 1 / 255, "do_normalize": True,
           "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]},
          open("model/preprocessor_config.json", "w"), indent=2)

# Forward pass, float64.
W = {k: v.astype(np.float64) for k, v in weights.items()}
pixels = load(f"{vit_dir}/case0.safetensors")["pixel_values"].astype(np.float32)
pixels = pixels.reshape(pixels.shape[-3:])  # [C, S, S]
p, S, C = config["patch_size"], config["image_size"], config["num_channels"]
side = S // p
conv = W["deit.embeddings.patch_embeddings.projection.weight"]  # [D, C, p, p]
patches = np.stack([pixels[:, r * p:(r + 1) * p, c * p:(c + 1) * p].astype(np.float64).reshape(-1)
                    for r in range(side) for c in range(side)])  # [N, C*p*p]
x = patches @ conv.reshape(D, -1).T + W["deit.embeddings.patch_embeddings.projection.bias"]
x = np.concatenate([W["deit.embeddings.cls_token"][0], W["deit.embeddings.distillation_token"][0], x])
x = x + W["deit.embeddings.position_embeddings"][0]  # [T, D]
eps, H = config["layer_norm_eps"], config["num_attention_heads"]
hd = D // H

def ln(v, name):
    mu = v.mean(-1, keepdims=True)
    var = ((v - mu) ** 2).mean(-1, keepdims=True)
    return (v - mu) / np.sqrt(var + eps) * W[name + ".weight"] + W[name + ".bias"]

def lin(v, name):
    return v @ W[name + ".weight"].T + W[name + ".bias"]

gelu = np.vectorize(lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2))))
attentions = []
for l in range(config["num_hidden_layers"]):
    pre = f"deit.encoder.layer.{l}."
    h = ln(x, pre + "layernorm_before")
    q, k, v = (lin(h, pre + "attention.attention." + n) for n in ("query", "key", "value"))
    heads, ctx = [], []
    for i in range(H):
        s = q[:, i * hd:(i + 1) * hd] @ k[:, i * hd:(i + 1) * hd].T / math.sqrt(hd)
        s = np.exp(s - s.max(-1, keepdims=True))
        a = s / s.sum(-1, keepdims=True)
        heads.append(a)
        ctx.append(a @ v[:, i * hd:(i + 1) * hd])
    attentions.append(np.stack(heads))
    x = x + lin(np.concatenate(ctx, -1), pre + "attention.output.dense")
    x = x + lin(gelu(lin(ln(x, pre + "layernorm_after"), pre + "intermediate.dense")), pre + "output.dense")
save("reference.safetensors", {"pixel_values": pixels, "attentions": np.stack(attentions),
                               "last_hidden_state": ln(x, "deit.layernorm")})
