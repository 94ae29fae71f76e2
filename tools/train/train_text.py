#!/usr/bin/python3
"""Train the default text model: a small Llama (4 layers x 8 heads, 128 wide, rotary
positions, 128 positions; or --arch gpt2) on the corpus from corpus.py with the tokenizer from
bpe.py, and save it as a Hugging Face checkpoint folder (config.json, model.safetensors,
tokenizer.json).

A share of the training sequences (--repeat-share, 0.5 by default) get a span of random tokens repeated twice written into
them: natural text alone rarely repeats within a context, and the repeats are what teaches
an induction head (Olsson et al. 2022) within a CPU budget.

Usage: /usr/bin/python3 tools/train/train_text.py CORPUSDIR TOKENIZERDIR OUTDIR
           [--steps N] [--threads 2] [--seed 0]
Evaluation (held-out perplexity, unigram baseline, head scores) goes to OUTDIR/report.json.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
import bpe  # noqa: E402
import st_io  # noqa: E402

N_LAYER, N_HEAD, N_EMBD = 4, 8, 128
N_POS = 128  # positions; --positions changes it
LLAMA_INNER = 352  # SwiGLU width: about 2/3 of 4 x 128, so the MLP matches GPT-2's in size
ROPE_THETA = 10000.0


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(N_EMBD, eps=1e-5)
        self.c_attn = nn.Linear(N_EMBD, 3 * N_EMBD)  # x [T, D] -> q|k|v [T, 3D]
        self.attn_proj = nn.Linear(N_EMBD, N_EMBD)
        self.ln_2 = nn.LayerNorm(N_EMBD, eps=1e-5)
        self.c_fc = nn.Linear(N_EMBD, 4 * N_EMBD)
        self.mlp_proj = nn.Linear(4 * N_EMBD, N_EMBD)

    def forward(self, x, keep=None):
        B, T, D = x.shape
        hd = D // N_HEAD
        q, k, v = self.c_attn(self.ln_1(x)).split(D, dim=2)
        q, k, v = (t.view(B, T, N_HEAD, hd).transpose(1, 2) for t in (q, k, v))  # [B, H, T, hd]
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)  # [B, H, T, T]
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        a = s.masked_fill(~mask, float("-inf")).softmax(-1)
        if keep is not None:
            keep.append(a)
        y = a @ v  # [B, H, T, hd]
        x = x + self.attn_proj(y.transpose(1, 2).reshape(B, T, D))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], -1)


class LlamaBlock(nn.Module):
    """Hugging Face Llama's layer: RMSNorm, rotary positions on q and k (rotate_half layout,
    so the weights load as they are), SwiGLU MLP, no biases."""

    def __init__(self):
        super().__init__()
        D = N_EMBD
        self.input_layernorm = nn.Parameter(torch.ones(D))
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = (
            nn.Linear(D, D, bias=False) for _ in range(4))  # [D, D] each
        self.post_attention_layernorm = nn.Parameter(torch.ones(D))
        self.gate_proj = nn.Linear(D, LLAMA_INNER, bias=False)
        self.up_proj = nn.Linear(D, LLAMA_INNER, bias=False)
        self.down_proj = nn.Linear(LLAMA_INNER, D, bias=False)

    @staticmethod
    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w

    def forward(self, x, cos, sin, keep=None):
        B, T, D = x.shape
        hd = D // N_HEAD
        h = self.rms(x, self.input_layernorm)
        q, k, v = (p(h).view(B, T, N_HEAD, hd).transpose(1, 2)
                   for p in (self.q_proj, self.k_proj, self.v_proj))  # [B, H, T, hd]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)  # [B, H, T, T]
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        a = s.masked_fill(~mask, float("-inf")).softmax(-1)
        if keep is not None:
            keep.append(a)
        x = x + self.o_proj((a @ v).transpose(1, 2).reshape(B, T, D))
        h = self.rms(x, self.post_attention_layernorm)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, N_EMBD)
        self.layers = nn.ModuleList(LlamaBlock() for _ in range(N_LAYER))
        self.norm = nn.Parameter(torch.ones(N_EMBD))
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * N_LAYER) if ("o_proj" in name or "down" in name) else 0.02
                nn.init.normal_(p, std=std)
        hd = N_EMBD // N_HEAD
        inv_freq = 1.0 / (ROPE_THETA ** (torch.arange(0, hd, 2).float() / hd))
        freqs = torch.outer(torch.arange(N_POS).float(), inv_freq)
        emb = torch.cat([freqs, freqs], -1)  # [T, hd]
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)

    def forward(self, ids, keep=None):
        T = ids.shape[1]
        x = self.embed_tokens(ids)
        for b in self.layers:
            x = b(x, self.cos[:T], self.sin[:T], keep)
        return LlamaBlock.rms(x, self.norm) @ self.embed_tokens.weight.T  # tied output

    def hf_tensors(self):
        """HF LlamaForCausalLM names; nn.Linear's [out, in] layout is HF's too."""
        t = {"model.embed_tokens.weight": self.embed_tokens.weight, "model.norm.weight": self.norm}
        for i, b in enumerate(self.layers):
            p = f"model.layers.{i}."
            t[p + "input_layernorm.weight"] = b.input_layernorm
            t[p + "post_attention_layernorm.weight"] = b.post_attention_layernorm
            for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
                t[p + "self_attn." + name + ".weight"] = getattr(b, name).weight
            for name in ("gate_proj", "up_proj", "down_proj"):
                t[p + "mlp." + name + ".weight"] = getattr(b, name).weight
        return {k: v.detach().float().contiguous().numpy() for k, v in t.items()}

    @staticmethod
    def hf_config(vocab, eot):
        return {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                "hidden_size": N_EMBD, "intermediate_size": LLAMA_INNER,
                "num_hidden_layers": N_LAYER, "num_attention_heads": N_HEAD,
                "num_key_value_heads": N_HEAD, "head_dim": N_EMBD // N_HEAD,
                "max_position_embeddings": N_POS, "vocab_size": vocab,
                "hidden_act": "silu", "rms_norm_eps": 1e-5, "rope_theta": ROPE_THETA,
                "rope_scaling": None, "attention_bias": False, "mlp_bias": False,
                "tie_word_embeddings": True, "torch_dtype": "float32",
                "bos_token_id": eot, "eos_token_id": eot}


class GPT(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.wte = nn.Embedding(vocab, N_EMBD)
        self.wpe = nn.Embedding(N_POS, N_EMBD)
        self.h = nn.ModuleList(Block() for _ in range(N_LAYER))
        self.ln_f = nn.LayerNorm(N_EMBD, eps=1e-5)
        for name, p in self.named_parameters():
            if name.endswith("weight") and p.dim() == 2:
                std = 0.02 / math.sqrt(2 * N_LAYER) if "proj" in name else 0.02
                nn.init.normal_(p, std=std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, ids, keep=None):
        T = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(T))
        for b in self.h:
            x = b(x, keep)
        return self.ln_f(x) @ self.wte.weight.T  # logits [B, T, V], tied to the embedding

    def hf_tensors(self):
        """HF GPT2LMHeadModel names; its Conv1D layers store weights as [in, out]."""
        t = {"transformer.wte.weight": self.wte.weight, "transformer.wpe.weight": self.wpe.weight,
             "transformer.ln_f.weight": self.ln_f.weight, "transformer.ln_f.bias": self.ln_f.bias}
        for i, b in enumerate(self.h):
            p = f"transformer.h.{i}."
            for ours, theirs in (("ln_1", "ln_1"), ("ln_2", "ln_2")):
                t[p + theirs + ".weight"] = getattr(b, ours).weight
                t[p + theirs + ".bias"] = getattr(b, ours).bias
            for ours, theirs in (("c_attn", "attn.c_attn"), ("attn_proj", "attn.c_proj"),
                                 ("c_fc", "mlp.c_fc"), ("mlp_proj", "mlp.c_proj")):
                t[p + theirs + ".weight"] = getattr(b, ours).weight.T
                t[p + theirs + ".bias"] = getattr(b, ours).bias
        return {k: v.detach().float().contiguous().numpy() for k, v in t.items()}


def gpt2_config(vocab, eot):
    return {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
            "n_layer": N_LAYER, "n_head": N_HEAD, "n_embd": N_EMBD, "n_positions": N_POS,
            "n_ctx": N_POS, "vocab_size": vocab, "n_inner": None,
            "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
            "tie_word_embeddings": True, "torch_dtype": "float32",
            "bos_token_id": eot, "eos_token_id": eot,
            "attn_pdrop": 0.0, "embd_pdrop": 0.0, "resid_pdrop": 0.0}


def load_hf(model, tensors):
    """Inverse of hf_tensors(): copy a saved checkpoint's tensors into the model."""
    ours = model.hf_tensors()  # same names; GPT-2's Conv1D weights come back transposed
    with torch.no_grad():
        for name, target in zip(ours.keys(), _hf_targets(model)):
            value = torch.from_numpy(tensors[name])
            target.copy_(value if value.shape == target.shape else value.T)


def _hf_targets(model):
    """The parameters behind hf_tensors(), in the same order."""
    if isinstance(model, Llama):
        out = [model.embed_tokens.weight, model.norm]
        for b in model.layers:
            out += [b.input_layernorm, b.post_attention_layernorm]
            out += [getattr(b, n).weight for n in ("q_proj", "k_proj", "v_proj", "o_proj")]
            out += [getattr(b, n).weight for n in ("gate_proj", "up_proj", "down_proj")]
        return out
    out = [model.wte.weight, model.wpe.weight, model.ln_f.weight, model.ln_f.bias]
    for b in model.h:
        out += [b.ln_1.weight, b.ln_1.bias, b.ln_2.weight, b.ln_2.bias]
        for n in ("c_attn", "attn_proj", "c_fc", "mlp_proj"):
            out += [getattr(b, n).weight, getattr(b, n).bias]
    return out


def encode_docs(enc, path):
    with open(path, encoding="utf-8") as f:
        return [enc.encode(line.rstrip("\n")) for line in f if line.strip()]


def make_stream(docs):
    starts, stream = [], []
    for d in docs:
        starts.append(len(stream))
        stream.extend(d)  # each doc already begins with <|endoftext|>
    return np.array(stream, dtype=np.int64), np.array(starts, dtype=np.int64)


def batch(stream, starts, rng, size, seq, vocab, eot, repeat_share, spans_per_row=1):
    ok = starts[starts + seq + 1 <= len(stream)]
    picks = rng.choice(ok, size)
    x = np.stack([stream[s:s + seq + 1] for s in picks])
    for row in range(size):
        if rng.random() >= repeat_share:
            continue
        # Up to spans_per_row repeats, each in its own slice of the row so none overlap.
        k = int(rng.integers(1, spans_per_row + 1))
        width = (seq + 1 - 1) // k
        for j in range(k):
            lo = 1 + j * width
            n = int(rng.integers(6, max(7, width // 3)))
            if 2 * n > width:
                continue
            span = rng.integers(0, eot, n)  # any token but <|endoftext|>
            at = lo + int(rng.integers(0, width - 2 * n + 1))
            x[row, at:at + n] = span
            x[row, at + n:at + 2 * n] = span
    x = torch.from_numpy(x)
    return x[:, :-1], x[:, 1:]


def synthetic_batch(rng, size, eot, max_len, stream=None):
    """Rows of [<|endoftext|>, s_1..s_n, s_1..s_n], random tokens, one n per batch. Targets
    outside the second copy are ignored (-100): only copying is rewarded here, so these
    batches teach induction without pulling the language model towards random tokens."""
    n = int(rng.integers(5, max_len + 1))
    span = rng.integers(0, eot, (size, n))
    if stream is not None:
        # Half the rows draw their tokens from the corpus instead (its word frequencies,
        # <|endoftext|> included), so copying does not depend on the tokens being rare.
        half = size // 2
        span[:half] = stream[rng.integers(0, len(stream), (half, n))]
    x = torch.from_numpy(np.concatenate([np.full((size, 1), eot), span, span], 1))
    y = x[:, 1:].clone()
    y[:, :n] = -100  # first copy (and the token after BOS): nothing to learn there
    return x[:, :-1], y


@torch.no_grad()
def evaluate(model, heldout_docs, train_stream, vocab, eot, rng, trials=20):
    model.eval()
    # Held-out perplexity, each document on its own (as a user's sentence would be).
    nll, count = 0.0, 0
    for d in heldout_docs:
        d = d[:N_POS + 1]
        if len(d) < 2:
            continue
        ids = torch.tensor([d])
        logits = model(ids[:, :-1])
        nll += F.cross_entropy(logits[0], ids[0, 1:], reduction="sum").item()
        count += len(d) - 1
    ppl = math.exp(nll / count)
    # Unigram baseline: token frequencies of the training split, add-one smoothed.
    freq = np.bincount(train_stream, minlength=vocab).astype(np.float64) + 1
    logp = np.log(freq / freq.sum())
    uni_nll = -sum(logp[t] for d in heldout_docs for t in d[1:N_POS + 1])
    uni_ppl = math.exp(uni_nll / count)
    # Head scores on held-out sentences: attention to the previous token and to the first.
    prev = np.zeros((N_LAYER, N_HEAD))
    first = np.zeros((N_LAYER, N_HEAD))
    rows = 0
    for d in heldout_docs[:400]:
        d = d[:N_POS]
        if len(d) < 3:
            continue
        keep = []
        model(torch.tensor([d]), keep)
        for l, a in enumerate(keep):
            a = a[0].numpy()  # [H, T, T]
            T = a.shape[-1]
            prev[l] += np.array([a[h, np.arange(1, T), np.arange(0, T - 1)].sum()
                                 for h in range(N_HEAD)])
            first[l] += a[:, 1:, 0].sum(-1)
        rows += len(d) - 1
    prev /= rows
    first /= rows
    # Induction: random tokens repeated twice; second-copy positions should attend to the
    # token right after the same token's first occurrence.
    induction = np.zeros((N_LAYER, N_HEAD))
    for _ in range(trials):
        n = (N_POS - 1) // 2 - 10
        span = rng.integers(0, eot, n)
        ids = np.concatenate([[eot], span, span])
        keep = []
        model(torch.tensor(np.array([ids])), keep)
        for l, a in enumerate(keep):
            a = a[0].numpy()
            q = np.arange(n + 1, 2 * n + 1)  # second copy
            induction[l] += a[:, q, q - n + 1].mean(-1)
    induction /= trials
    model.train()
    return {"heldout_perplexity": ppl, "unigram_perplexity": uni_ppl,
            "heldout_tokens": count,
            "previous_token": prev.round(4).tolist(), "first_token": first.round(4).tolist(),
            "induction": induction.round(4).tolist(),
            "best_previous_token": [float(prev.max()), *map(int, np.unravel_index(prev.argmax(), prev.shape))],
            "best_induction": [float(induction.max()), *map(int, np.unravel_index(induction.argmax(), induction.shape))]}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("tokenizer")
    ap.add_argument("outdir")
    ap.add_argument("--steps", type=int, default=700)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--positions", type=int, default=128, help="context length trained and "
                    "the model's n_positions")
    ap.add_argument("--repeat-share", type=float, default=0.5)
    ap.add_argument("--arch", choices=["llama", "gpt2"], default="llama")
    ap.add_argument("--init", help="start from this model.safetensors (same architecture) "
                    "instead of random weights: continues an earlier run")
    ap.add_argument("--spans-per-row", type=int, default=1, help="up to this many repeated "
                    "spans in one training sequence")
    ap.add_argument("--synthetic-every", type=int, default=0, help="every N-th step trains on "
                    "a batch of pure repeated random spans (loss on the second copy only)")
    ap.add_argument("--synthetic-batch", type=int, default=48)
    ap.add_argument("--corpus-spans", action="store_true", help="half of each synthetic batch "
                    "repeats spans of corpus tokens instead of uniformly random ones")
    ap.add_argument("--stop-at-induction", type=float, default=0.0, help="stop once the "
                    "periodic evaluation finds an induction head this strong")
    ap.add_argument("--constant-lr", action="store_true", help="no decay after warm-up")
    ap.add_argument("--eval-every", type=int, default=100, help="print head scores every N steps")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    globals()["N_POS"] = args.positions
    args.seq = args.positions
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    random.seed(args.seed)

    t0 = time.time()
    enc = bpe.load(os.path.join(args.tokenizer, "tokenizer.json"))
    vocab, eot = len(enc.vocab), enc.eot
    train_docs = encode_docs(enc, os.path.join(args.corpus, "train.txt"))
    held_docs = encode_docs(enc, os.path.join(args.corpus, "heldout.txt"))
    order = rng.permutation(len(train_docs))  # mix the sources
    stream, starts = make_stream([train_docs[i] for i in order])
    print(f"encoded {len(stream)} training tokens in {time.time() - t0:.0f} s", file=sys.stderr)

    model = Llama(vocab) if args.arch == "llama" else GPT(vocab)
    if args.init:
        load_hf(model, st_io.read(args.init)[0])
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]  # matrices only
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    warmup = min(200, args.steps // 10)
    t1 = time.time()
    for step in range(args.steps):
        lr = args.lr * (step + 1) / warmup if step < warmup else args.lr if args.constant_lr else \
            args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - warmup) / (args.steps - warmup))))
        for g in opt.param_groups:
            g["lr"] = lr
        if args.synthetic_every and step % args.synthetic_every == args.synthetic_every - 1:
            x, y = synthetic_batch(rng, args.synthetic_batch, eot, (args.seq - 1) // 2,
                                   stream if args.corpus_spans else None)
        else:
            x, y = batch(stream, starts, rng, args.batch, args.seq, vocab, eot,
                         args.repeat_share, args.spans_per_row)
        loss = F.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if args.eval_every and step % args.eval_every == 0 and step > 0:
            quick = evaluate(model, held_docs[:60], stream, vocab, eot, np.random.default_rng(1),
                             trials=3)
            print(f"step {step}: previous-token {quick['best_previous_token'][0]:.3f}, "
                  f"induction {quick['best_induction'][0]:.3f}, held-out perplexity "
                  f"{quick['heldout_perplexity']:.1f}", file=sys.stderr, flush=True)
            if args.stop_at_induction and quick["best_induction"][0] >= args.stop_at_induction:
                args.steps = step + 1  # done: the report says how many steps ran
                break
        if step % 100 == 0 or step == args.steps - 1:
            el = time.time() - t1
            print(f"step {step} loss {loss.item():.3f} lr {lr:.2e} {el:.0f} s "
                  f"({(step + 1) * args.batch * args.seq / max(el, 1e-9):.0f} tok/s)",
                  file=sys.stderr, flush=True)
    train_seconds = time.time() - t1

    os.makedirs(args.outdir, exist_ok=True)
    st_io.write(os.path.join(args.outdir, "model.safetensors"), model.hf_tensors(),
                {"format": "pt"})
    with open(os.path.join(args.outdir, "config.json"), "w") as f:
        config = Llama.hf_config(vocab, eot) if args.arch == "llama" else gpt2_config(vocab, eot)
        json.dump(config, f, indent=2)
        f.write("\n")
    with open(os.path.join(args.tokenizer, "tokenizer.json"), encoding="utf-8") as src, \
         open(os.path.join(args.outdir, "tokenizer.json"), "w", encoding="utf-8") as dst:
        dst.write(src.read())
    report = evaluate(model, held_docs, stream, vocab, eot, rng)
    report.update({"train_seconds": round(train_seconds), "steps": args.steps,
                   "batch": args.batch, "seq": args.seq, "train_tokens_seen":
                   args.steps * args.batch * args.seq, "corpus_tokens": int(len(stream)),
                   "threads": args.threads, "seed": args.seed,
                   "positions": N_POS, "repeat_share": args.repeat_share,
                   "arch": args.arch, "init": args.init,
                   "spans_per_row": args.spans_per_row, "constant_lr": args.constant_lr,
                   "synthetic_every": args.synthetic_every, "synthetic_batch": args.synthetic_batch,
                   "corpus_spans": args.corpus_spans})
    with open(os.path.join(args.outdir, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps({k: v for k, v in report.items() if not isinstance(v, list) or k.startswith("best")}),
          file=sys.stderr)


if __name__ == "__main__":
    main()
