#!/usr/bin/python3
"""Train the default vision model: a small ViT (28 x 28 greyscale input, 4 x 4 patches, so a
7 x 7 grid plus [CLS]; 4 layers x 4 heads, 64 wide) on Fashion-MNIST, and save it as a
Hugging Face ViTForImageClassification folder (config.json, model.safetensors,
preprocessor_config.json).

Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), MIT licence,
Zalando Research. Augmentation: random horizontal flips and shifts of up to 2 pixels.

Usage: /usr/bin/python3 tools/train/train_vision.py OUTDIR [--epochs 8] [--threads 2]
           [--bundle N --bundle-dir DIR]
Test accuracy and the [CLS] attention on garment versus background go to OUTDIR/report.json.
--bundle writes the first N test images (raw uint8, N x 28 x 28) and labels, with the
accuracy on exactly those images, for the project's tests.
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
import st_io  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
          "Bag", "Ankle boot"]
SIZE, PATCH, D, LAYERS, HEADS, INNER = 28, 4, 64, 4, 4, 128
GRID = SIZE // PATCH
MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST training-set pixel statistics (0..1 scale)


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, rows, cols)
    return np.frombuffer(data, np.uint8, offset=8)


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.layernorm_before = nn.LayerNorm(D, eps=1e-12)
        self.query, self.key, self.value = (nn.Linear(D, D) for _ in range(3))
        self.attn_out = nn.Linear(D, D)
        self.layernorm_after = nn.LayerNorm(D, eps=1e-12)
        self.intermediate = nn.Linear(D, INNER)
        self.output = nn.Linear(INNER, D)

    def forward(self, x, keep=None):
        B, T, _ = x.shape
        hd = D // HEADS
        h = self.layernorm_before(x)
        q, k, v = (lin(h).view(B, T, HEADS, hd).transpose(1, 2)
                   for lin in (self.query, self.key, self.value))  # [B, H, T, hd]
        a = ((q @ k.transpose(-1, -2)) / math.sqrt(hd)).softmax(-1)  # [B, H, T, T]
        if keep is not None:
            keep.append(a)
        x = x + self.attn_out((a @ v).transpose(1, 2).reshape(B, T, D))
        return x + self.output(F.gelu(self.intermediate(self.layernorm_after(x))))


class ViT(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(1, D, PATCH, PATCH)  # [D, 1, p, p]
        self.cls = nn.Parameter(torch.zeros(1, 1, D))
        self.pos = nn.Parameter(torch.randn(1, GRID * GRID + 1, D) * 0.02)
        self.layers = nn.ModuleList(Layer() for _ in range(LAYERS))
        self.norm = nn.LayerNorm(D, eps=1e-12)
        self.classifier = nn.Linear(D, len(LABELS))

    def forward(self, px, keep=None):  # px [B, 1, 28, 28], normalised
        x = self.patch(px).flatten(2).transpose(1, 2)  # [B, 49, D], row-major patches
        x = torch.cat([self.cls.expand(len(x), -1, -1), x], 1) + self.pos
        for layer in self.layers:
            x = layer(x, keep)
        return self.classifier(self.norm(x)[:, 0])

    def hf_tensors(self):
        t = {"vit.embeddings.cls_token": self.cls,
             "vit.embeddings.position_embeddings": self.pos,
             "vit.embeddings.patch_embeddings.projection.weight": self.patch.weight,
             "vit.embeddings.patch_embeddings.projection.bias": self.patch.bias,
             "vit.layernorm.weight": self.norm.weight, "vit.layernorm.bias": self.norm.bias,
             "classifier.weight": self.classifier.weight, "classifier.bias": self.classifier.bias}
        for i, l in enumerate(self.layers):
            p = f"vit.encoder.layer.{i}."
            for ours, theirs in (("layernorm_before", "layernorm_before"),
                                 ("layernorm_after", "layernorm_after"),
                                 ("query", "attention.attention.query"),
                                 ("key", "attention.attention.key"),
                                 ("value", "attention.attention.value"),
                                 ("attn_out", "attention.output.dense"),
                                 ("intermediate", "intermediate.dense"),
                                 ("output", "output.dense")):
                t[p + theirs + ".weight"] = getattr(l, ours).weight
                t[p + theirs + ".bias"] = getattr(l, ours).bias
        return {k: v.detach().float().contiguous().numpy() for k, v in t.items()}


def normalise(images):  # uint8 [N, 28, 28] -> float [N, 1, 28, 28]
    return ((torch.from_numpy(images.astype(np.float32)) / 255.0 - MEAN) / STD).unsqueeze(1)


def augment(x, rng, shift):
    flip = torch.from_numpy(rng.random(len(x)) < 0.5)
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    if shift == 0:
        return x
    dx, dy = rng.integers(-shift, shift + 1, 2)
    background = (0.0 - MEAN) / STD
    x = torch.roll(x, (int(dy), int(dx)), (2, 3))
    if dy > 0: x[:, :, :dy] = background
    if dy < 0: x[:, :, dy:] = background
    if dx > 0: x[:, :, :, :dx] = background
    if dx < 0: x[:, :, :, dx:] = background
    return x


@torch.no_grad()
def predict(model, images):
    return torch.cat([model(normalise(images[i:i + 500])).argmax(-1)
                      for i in range(0, len(images), 500)]).numpy()


@torch.no_grad()
def cls_on_garment(model, images):
    """Share of [CLS]'s attention (last layer, mean over heads) on patches that hold the
    garment (mean pixel above 10 % of full scale), next to those patches' share of the grid."""
    keep = []
    model(normalise(images), keep)
    cls = keep[-1][:, :, 0, 1:].mean(1).numpy()  # [N, 49]
    patch_mean = images.reshape(-1, GRID, PATCH, GRID, PATCH).mean((2, 4)).reshape(-1, GRID * GRID)
    garment = patch_mean > 0.1 * 255
    on = (cls * garment).sum(1) / cls.sum(1)
    per_layer = []
    for a in keep:
        c = a[:, :, 0, 1:].mean(1).numpy()
        per_layer.append(float(((c * garment).sum(1) / c.sum(1)).mean()))
    return float(on.mean()), float(garment.mean()), per_layer


def write_png(path, image):  # greyscale uint8 [H, W]
    h, w = image.shape
    raw = b"".join(b"\x00" + image[y].tobytes() for y in range(h))
    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shift", type=int, default=2, help="random shifts of up to N pixels")
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--bundle", type=int, default=0)
    ap.add_argument("--bundle-dir")
    ap.add_argument("--samples-dir", help="write one test image per class as PNG here")
    ap.add_argument("--train-limit", type=int, default=0, help="use only N training images "
                    "(a quick check of the script, not for the shipped model)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train_x, train_y = read_idx("train-images-idx3-ubyte.gz"), read_idx("train-labels-idx1-ubyte.gz")
    test_x, test_y = read_idx("t10k-images-idx3-ubyte.gz"), read_idx("t10k-labels-idx1-ubyte.gz")
    if args.train_limit:
        train_x, train_y = train_x[:args.train_limit], train_y[:args.train_limit]
    model = ViT()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    steps = args.epochs * (len(train_x) // args.batch)
    warmup = steps // 20
    t0 = time.time()
    step = 0
    for epoch in range(args.epochs):
        order = rng.permutation(len(train_x))
        for i in range(0, len(order) - args.batch + 1, args.batch):
            idx = order[i:i + args.batch]
            lr = args.lr * (step + 1) / warmup if step < warmup else \
                args.lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / (steps - warmup)))
            for g in opt.param_groups:
                g["lr"] = lr
            x = augment(normalise(train_x[idx]), rng, args.shift)
            loss = F.cross_entropy(model(x), torch.from_numpy(train_y[idx].astype(np.int64)),
                                   label_smoothing=args.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
        model.eval()
        acc = float((predict(model, test_x) == test_y).mean())
        model.train()
        print(f"epoch {epoch + 1}: loss {loss.item():.3f}, test accuracy {acc:.4f}, "
              f"{time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    train_seconds = time.time() - t0
    model.eval()
    pred = predict(model, test_x)
    on, area, per_layer = cls_on_garment(model, test_x[:1000])
    report = {"test_accuracy": float((pred == test_y).mean()), "test_images": len(test_y),
              "cls_attention_on_garment_last_layer": on, "garment_patch_share": area,
              "cls_attention_on_garment_per_layer": per_layer,
              "train_seconds": round(train_seconds), "epochs": args.epochs,
              "threads": args.threads, "seed": args.seed, "batch": args.batch, "lr": args.lr,
              "shift": args.shift, "label_smoothing": args.label_smoothing}
    os.makedirs(args.outdir, exist_ok=True)
    st_io.write(os.path.join(args.outdir, "model.safetensors"), model.hf_tensors(), {"format": "pt"})
    config = {"architectures": ["ViTForImageClassification"], "model_type": "vit",
              "hidden_size": D, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
              "intermediate_size": INNER, "hidden_act": "gelu", "layer_norm_eps": 1e-12,
              "image_size": SIZE, "patch_size": PATCH, "num_channels": 1, "qkv_bias": True,
              "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
              "id2label": {str(i): n for i, n in enumerate(LABELS)},
              "label2id": {n: i for i, n in enumerate(LABELS)}, "torch_dtype": "float32"}
    with open(os.path.join(args.outdir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    pre = {"image_processor_type": "ViTImageProcessor", "do_convert_grayscale": True,
           "do_resize": True, "size": {"height": SIZE, "width": SIZE}, "resample": 2,
           "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
           "image_mean": [MEAN], "image_std": [STD]}
    with open(os.path.join(args.outdir, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=2)
        f.write("\n")
    if args.bundle:
        os.makedirs(args.bundle_dir, exist_ok=True)
        n = args.bundle
        test_x[:n].tofile(os.path.join(args.bundle_dir, "images.u8"))
        test_y[:n].tofile(os.path.join(args.bundle_dir, "labels.u8"))
        report["bundle_images"] = n
        report["bundle_accuracy"] = float((pred[:n] == test_y[:n]).mean())
        pred[:n].astype(np.uint8).tofile(os.path.join(args.bundle_dir, "predicted.u8"))
    if args.samples_dir:
        os.makedirs(args.samples_dir, exist_ok=True)
        for c, name in enumerate(LABELS):
            i = int(np.flatnonzero((test_y == c) & (pred == test_y))[0])
            slug = name.lower().replace("/", "-").replace(" ", "-")
            write_png(os.path.join(args.samples_dir, f"fashion-{c}-{slug}.png"), test_x[i])
    with open(os.path.join(args.outdir, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report), file=sys.stderr)


if __name__ == "__main__":
    main()
