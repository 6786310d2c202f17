"""NADE speed: our one-pass density and stateful sampling against the usual alternatives.

Run:  OMP_NUM_THREADS=1 python benchmarks/bench_nade.py  [--reps 5]

Setting: B = 100 binary 28x28 images (D = 784), H = 500 sigmoid units, float32, CPU, one
thread.  Training step = log-likelihood forward + backward (no optimiser step).  Compared:

* ours      pgm_ar's NADE (blocked fused kernel, custom autograd, O(block B H) memory)
* loop      a straightforward NADE looping over pixels in Python, as common reference code does
* cumsum    exclusive cumsum over the full (B, D, H) pre-activation tensor
* blocked8  triangular matmul inside blocks of 8 pixels + running sum across blocks (autograd)

Sampling 100 images: ours (running pre-activation, D steps of O(H)) against naive
recomputation (a full forward pass over the partially sampled images for every pixel).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from pgm_ar.conditionals.nade import NADE  # noqa: E402
from pgm_ar.variables import Image  # noqa: E402

B, H = 100, 500


def loop_logits(x, W, c, V, b):
    a = c.expand(x.shape[0], -1)
    outs = []
    for i in range(x.shape[1]):
        outs.append(torch.sigmoid(a) @ V[i] + b[i])
        a = a + x[:, i:i + 1] * W[i]
    return torch.stack(outs, 1)


def cumsum_logits(x, W, c, V, b):
    contrib = x.unsqueeze(-1) * W                       # (B, D, H)
    a = torch.cumsum(contrib, 1) - contrib + c
    return (torch.sigmoid(a) * V).sum(-1) + b


def blocked8_logits(x, W, c, V, b, k=8):
    Bn, D = x.shape
    tri = torch.tril(torch.ones(k, k), -1)
    A = c.expand(Bn, -1)
    outs = []
    for s in range(0, D, k):
        e = min(s + k, D)
        kk = e - s
        xb = x[:, s:e]
        inner = (tri[:kk, :kk] * xb[:, None, :]) @ W[s:e]   # (B, kk, H)
        a = A[:, None] + inner
        outs.append((torch.sigmoid(a) * V[s:e]).sum(-1) + b[s:e])
        A = A + xb @ W[s:e]
    return torch.cat(outs, 1)


def timed(fn, reps):
    fn()  # warm-up
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--skip-naive-sampling", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    img = Image("digit", shape=(1, 28, 28))
    D = img.num_pixels
    cond = NADE(hidden=H).build(img, [])
    with torch.no_grad():
        for p in cond.parameters():
            p.copy_(0.05 * torch.randn(p.shape))
    x_img = torch.bernoulli(torch.full((B, 1, 28, 28), 0.13))
    x = x_img.reshape(B, D)
    W = cond.W[:, 0].detach().clone().requires_grad_(True)
    c = cond.c.detach().clone().requires_grad_(True)
    V = cond.V[:, :, 0].detach().clone().requires_grad_(True)
    b = cond.b[:, 0].detach().clone().requires_grad_(True)

    lines = [
        "# NADE benchmark: B=100, D=784 (28x28 binary), H=500 sigmoid, float32",
        f"# torch {torch.__version__}, threads={torch.get_num_threads()} "
        f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}), {platform.processor() or platform.machine()}",
        f"# median of {args.reps} repetitions after one warm-up (min in brackets)",
    ]

    def step_ours():
        cond.zero_grad(set_to_none=True)
        (-cond({}, batch_size=B).log_prob(x_img).mean()).backward()

    def make_step(f):
        def step():
            for p in (W, c, V, b):
                p.grad = None
            logits = f(x, W, c, V, b)
            F.binary_cross_entropy_with_logits(logits, x, reduction="sum").div(B).backward()
        return step

    # agreement of the four log-likelihoods
    with torch.no_grad():
        ref = -F.binary_cross_entropy_with_logits(loop_logits(x, W, c, V, b), x,
                                                  reduction="none").sum(1)
        ours_lp = cond({}, batch_size=B).log_prob(x_img)
        diffs = {name: (-F.binary_cross_entropy_with_logits(f(x, W, c, V, b), x, reduction="none")
                        .sum(1) - ref).abs().max().item()
                 for name, f in (("cumsum", cumsum_logits), ("blocked8", blocked8_logits))}
        diffs["ours"] = (ours_lp - ref).abs().max().item()
    lines.append("# max |log p - log p_loop| (nats): "
                 + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()))

    results = {}
    for name, fn in (("ours", step_ours), ("loop", make_step(loop_logits)),
                     ("cumsum", make_step(cumsum_logits)), ("blocked8", make_step(blocked8_logits))):
        med, best = timed(fn, args.reps)
        results[name] = med
        lines.append(f"train step fwd+bwd  {name:9s} {med * 1e3:8.1f} ms/step  [{best * 1e3:.1f}]"
                     f"  {B / med:8.0f} images/s")
    for name in ("loop", "cumsum", "blocked8"):
        lines.append(f"ratio {name}/ours (training throughput): {results[name] / results['ours']:.1f}x")

    # sampling 100 images
    torch.manual_seed(1)
    d = cond({}, batch_size=B)
    with torch.no_grad():
        t_ours, t_ours_min = timed(lambda: d.sample(), args.reps)
    lines.append(f"sample 100 images   ours      {t_ours * 1e3:8.1f} ms  [{t_ours_min * 1e3:.1f}]")

    if not args.skip_naive_sampling:
        def naive_sample():
            xs = torch.zeros(B, D)
            for t in range(D):  # a full forward pass per pixel (our fast one-pass forward)
                logits = cond.ordered_params(xs, None)
                xs[:, t] = torch.bernoulli(torch.sigmoid(logits[:, t]))
            return xs

        with torch.no_grad():
            t0 = time.perf_counter()
            naive_sample()
            t_naive = time.perf_counter() - t0
        lines.append(f"sample 100 images   naive     {t_naive * 1e3:8.1f} ms  "
                     "(full one-pass forward per pixel, run once)")
        lines.append(f"ratio naive/ours (sampling): {t_naive / t_ours:.0f}x")
    text = "\n".join(lines)
    print(text)
    out = os.path.join(os.path.dirname(__file__), "results", "bench_nade.txt")
    tmp = out + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(text + "\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
