"""NADE speed: our one-pass density and stateful sampling against the usual alternatives.

Run:  OMP_NUM_THREADS=1 python benchmarks/bench_nade.py  [--reps 5] [--device cpu|cuda] [--out DIR]

Setting: B = 100 binary 28x28 images (D = 784), H = 500 sigmoid units, float32, CPU, one
thread.  Training step = log-likelihood forward + backward (no optimiser step).  Compared:

* ours      pgm_ar's NADE (blocked fused kernel, custom autograd, O(block B H) memory)
* loop      a straightforward NADE looping over pixels in Python, as common reference code does
* cumsum    exclusive cumsum over the full (B, D, H) pre-activation tensor
* blocked8  triangular matmul inside blocks of 8 pixels + running sum across blocks (autograd)

Sampling 100 images: ours (running pre-activation, D steps of O(H)) against naive
recomputation (a full forward pass over the partially sampled images for every pixel).

A last line measures the *floor* of any exact NADE training step on this machine: one sigmoid
over the (D, B, H) pre-activations and one multiply-and-sum with V, i.e. the forward output
heads alone, with the pre-activations given for free and no backward pass.  ``loop / floor``
bounds the training-throughput ratio any implementation could reach against the loop here.
On CUDA (``--device cuda``) the loop is bound by kernel launches instead, and the same
comparison shows how far a vectorised step gets there.
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
    tri = torch.tril(torch.ones(k, k, device=x.device), -1)
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


def timed(fn, reps, device="cpu"):
    def sync():
        if device == "cuda":
            torch.cuda.synchronize()
    fn()  # warm-up
    sync()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--skip-naive-sampling", action="store_true")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"),
                    help="folder for bench_nade.txt (bench_nade_cuda.txt on cuda)")
    args = ap.parse_args()
    dev = args.device
    if dev == "cuda" and not torch.cuda.is_available():
        sys.exit("bench_nade: --device cuda but torch sees no CUDA device")
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    torch.manual_seed(0)
    img = Image("digit", shape=(1, 28, 28))
    D = img.num_pixels
    cond = NADE(hidden=H).build(img, [])
    with torch.no_grad():
        for p in cond.parameters():
            p.copy_(0.05 * torch.randn(p.shape))
    cond.to(dev)
    x_img = torch.bernoulli(torch.full((B, 1, 28, 28), 0.13)).to(dev)
    x = x_img.reshape(B, D)
    W = cond.W[:, 0].detach().clone().requires_grad_(True)
    c = cond.c.detach().clone().requires_grad_(True)
    V = cond.V[:, :, 0].detach().clone().requires_grad_(True)
    b = cond.b[:, 0].detach().clone().requires_grad_(True)

    lines = [
        "# NADE benchmark: B=100, D=784 (28x28 binary), H=500 sigmoid, float32",
        f"# torch {torch.__version__}, threads={torch.get_num_threads()} "
        f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}), {platform.processor() or platform.machine()}, "
        f"device {dev}" + (f" ({torch.cuda.get_device_name(0)})" if dev == "cuda" else ""),
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
        med, best = timed(fn, args.reps, dev)
        results[name] = med
        lines.append(f"train step fwd+bwd  {name:9s} {med * 1e3:8.1f} ms/step  [{best * 1e3:.1f}]"
                     f"  {B / med:8.0f} images/s")
    for name in ("loop", "cumsum", "blocked8"):
        lines.append(f"ratio {name}/ours (training throughput): {results[name] / results['ours']:.1f}x")

    # the floor: forward output heads alone, pre-activations given, no backward
    with torch.no_grad():
        A = torch.randn(D, B, H, device=dev)
        hbuf = torch.empty_like(A)
        Vd = V.detach().unsqueeze(1)                       # (D, 1, H)
        floor, floor_min = timed(lambda: torch.mul(torch.sigmoid(A, out=hbuf), Vd, out=hbuf)
                                 .sum(-1), args.reps, dev)
        del A, hbuf
    lines.append(f"floor: sigmoid + V-heads over (D, B, H), forward only {floor * 1e3:8.1f} ms  "
                 f"[{floor_min * 1e3:.1f}]")
    lines.append(f"ceiling of the loop/ours ratio on this machine (loop / floor): "
                 f"{results['loop'] / floor:.1f}x; ours / floor: {results['ours'] / floor:.1f}")

    # sampling 100 images
    torch.manual_seed(1)
    d = cond({}, batch_size=B)
    with torch.no_grad():
        t_ours, t_ours_min = timed(lambda: d.sample(), args.reps, dev)
    lines.append(f"sample 100 images   ours      {t_ours * 1e3:8.1f} ms  [{t_ours_min * 1e3:.1f}]")

    def loop_sample():  # the reference-code sampler: running sum, one Python step per pixel
        a = c.detach().expand(B, -1)
        xs = []
        for i in range(D):
            xi = torch.bernoulli(torch.sigmoid(torch.sigmoid(a) @ V[i] + b[i]))
            a = a + xi.unsqueeze(-1) * W[i]
            xs.append(xi)
        return torch.stack(xs, 1)

    with torch.no_grad():
        t_loop_s, t_loop_s_min = timed(loop_sample, args.reps, dev)
    lines.append(f"sample 100 images   loop      {t_loop_s * 1e3:8.1f} ms  [{t_loop_s_min * 1e3:.1f}]"
                 "  (running sum in a Python loop)")
    lines.append(f"ratio loop/ours (sampling): {t_loop_s / t_ours:.1f}x")

    if not args.skip_naive_sampling:
        def naive_sample():
            xs = torch.zeros(B, D, device=dev)
            for t in range(D):  # a full forward pass per pixel (our fast one-pass forward)
                logits = cond.ordered_params(xs, None)
                xs[:, t] = torch.bernoulli(torch.sigmoid(logits[:, t]))
            return xs

        with torch.no_grad():
            t0 = time.perf_counter()
            naive_sample()
            if dev == "cuda":
                torch.cuda.synchronize()
            t_naive = time.perf_counter() - t0
        lines.append(f"sample 100 images   naive     {t_naive * 1e3:8.1f} ms  "
                     "(full one-pass forward per pixel, run once)")
        lines.append(f"ratio naive/ours (sampling): {t_naive / t_ours:.0f}x")
    text = "\n".join(lines)
    print(text)
    os.makedirs(args.out, exist_ok=True)
    out = os.path.join(args.out, "bench_nade.txt" if dev == "cpu" else f"bench_nade_{dev}.txt")
    tmp = out + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(text + "\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
