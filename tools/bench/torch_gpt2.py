#!/usr/bin/python3
"""Plain-PyTorch (eager) GPT-2 forward used as a baseline for attnscope.

Loads a folder written by make_gpt2_small.py (or any HF GPT2Model
save_pretrained folder with float32 model.safetensors and unprefixed names),
runs, as fast as PyTorch eager goes on a CPU (autograd off, addmm/baddbmm/bmm, the
fused tanh GELU, OpenBLAS free to pick its kernels: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE
must be unset), embedding + position, n_layer pre-LN blocks (causal softmax attention,
keeping every layer's attention probabilities [H, T, T] like HF with
output_attentions=True), tanh-GELU MLP and final LayerNorm. No LM head.

Timing mode (default):
  /usr/bin/python3 tools/bench/torch_gpt2.py MODEL_DIR [--threads 2] [--T 16,64,256,1024] [--json]
  One warm-up run per T, then median of k runs (k=5 for T<=256, 3 above).
  With --json the table goes to stderr and stdout gets [{"T":..,"ms":..}, ...].

Check mode:
  /usr/bin/python3 tools/bench/torch_gpt2.py MODEL_DIR --check OUT.safetensors --ids 1,2,3
  Writes float32 tensors "attentions" [L, H, T, T] and "last_hidden_state" [T, n_embd]
  (batch dimension dropped), plus "input_ids" (I64, [T]); metadata holds ids/threads/torch version.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402


def load(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    arrays, _ = st_io.read(os.path.join(model_dir, "model.safetensors"))
    w = {}
    for k, a in arrays.items():
        if k.startswith("transformer."):
            k = k[len("transformer."):]
        w[k] = torch.from_numpy(a).float()
    return cfg, w


# OpenBLAS picks its kernels from these; a value left over from another benchmark (e.g. a
# forced CORETYPE=Haswell on an AVX-512 machine) would slow the peer, so refuse to run with them.
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


class GPT2:
    def __init__(self, cfg, w):
        self.cfg = cfg
        self.w = w
        self.L = cfg["n_layer"]
        self.H = cfg["n_head"]
        self.E = cfg["n_embd"]
        self.eps = cfg.get("layer_norm_epsilon", 1e-5)
        act = cfg.get("activation_function", "gelu_new")
        if act not in ("gelu_new", "gelu_pytorch_tanh"):
            raise ValueError(f"unsupported activation {act}")
        n_pos = cfg["n_positions"]
        # Additive mask: 0 on and below the diagonal, -inf above (what softmax then zeroes),
        # built once; one fused add instead of a torch.where with a fresh tensor per layer.
        self.causal = torch.full((n_pos, n_pos), float("-inf")).triu(1)

    def forward(self, ids):
        """ids: LongTensor [T]. Returns (last_hidden_state [T,E], list of L attn probs [H,T,T]).
        PyTorch at its best on the CPU: no autograd (the caller disables it), addmm for every
        projection with its bias, the fused tanh GELU, per-head attention kept like HF's
        output_attentions=True."""
        w, E, H = self.w, self.E, self.H
        D = E // H
        T = ids.shape[0]
        F = torch.nn.functional
        x = w["wte.weight"][ids] + w["wpe.weight"][:T]  # [T, E]
        mask = self.causal[:T, :T]  # [T, T]
        scale = 1.0 / math.sqrt(D)
        attns = []
        for i in range(self.L):
            p = f"h.{i}."
            h = F.layer_norm(x, (E,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], self.eps)
            qkv = torch.addmm(w[p + "attn.c_attn.bias"], h, w[p + "attn.c_attn.weight"])  # [T, 3E]
            qkv = qkv.view(T, 3, H, D).permute(1, 2, 0, 3)  # [3, H, T, D]
            q, k, v = qkv[0], qkv[1], qkv[2]
            s = torch.baddbmm(mask, q, k.transpose(1, 2), alpha=scale)  # [H, T, T]
            a = torch.softmax(s, dim=-1)
            attns.append(a)
            o = torch.bmm(a, v).transpose(0, 1).reshape(T, E)  # [T, E]
            x = torch.addmm(w[p + "attn.c_proj.bias"], o, w[p + "attn.c_proj.weight"]).add_(x)
            h = F.layer_norm(x, (E,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], self.eps)
            h = F.gelu(torch.addmm(w[p + "mlp.c_fc.bias"], h, w[p + "mlp.c_fc.weight"]),
                       approximate="tanh")  # [T, 4E]
            x = torch.addmm(w[p + "mlp.c_proj.bias"], h, w[p + "mlp.c_proj.weight"]).add_(x)
        x = F.layer_norm(x, (E,), w["ln_f.weight"], w["ln_f.bias"], self.eps)
        return x, attns


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--T", default="16,64,256,1024", help="comma-separated sequence lengths")
    ap.add_argument("--json", action="store_true", help="print JSON list to stdout (table to stderr)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", metavar="OUT.safetensors", help="write attentions/last_hidden_state for --ids")
    ap.add_argument("--ids", help="comma-separated token ids for --check")
    args = ap.parse_args()

    overridden = [v for v in OPENBLAS_OVERRIDES if v in os.environ]
    if overridden:
        sys.exit(f"torch_gpt2.py: unset {', '.join(overridden)} (OpenBLAS must pick this machine's "
                 f"best kernels): env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 ...")
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    cfg, w = load(args.model_dir)
    model = GPT2(cfg, w)

    if args.check:
        if not args.ids:
            ap.error("--check needs --ids")
        ids = torch.tensor([int(s) for s in args.ids.split(",") if s.strip()], dtype=torch.long)
        hs, attns = model.forward(ids)
        att = torch.stack(attns)  # [L, H, T, T]
        st_io.write(args.check,
                    {"attentions": att.float(), "last_hidden_state": hs.float(), "input_ids": ids},
                    {"format": "pt", "ids": args.ids, "threads": args.threads,
                     "torch": torch.__version__, "model_dir": os.path.abspath(args.model_dir)})
        print(f"wrote {args.check}: attentions {list(att.shape)}, last_hidden_state {list(hs.shape)}")
        return

    g = torch.Generator().manual_seed(args.seed)
    results = []
    out = sys.stderr if args.json else sys.stdout
    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}", file=out)
    print(f"{'T':>6} {'ms (median)':>12} {'min':>10} {'k':>3}", file=out)
    for T in [int(s) for s in args.T.split(",") if s.strip()]:
        ids = torch.randint(0, cfg["vocab_size"], (T,), generator=g)
        k = 5 if T <= 256 else 3
        model.forward(ids)  # warm-up
        times = []
        for _ in range(k):
            t0 = time.perf_counter()
            model.forward(ids)
            times.append((time.perf_counter() - t0) * 1e3)
        ms = statistics.median(times)
        results.append({"T": T, "ms": round(ms, 3), "min_ms": round(min(times), 3)})
        print(f"{T:>6} {ms:>12.2f} {min(times):>10.2f} {k:>3}", file=out, flush=True)
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
