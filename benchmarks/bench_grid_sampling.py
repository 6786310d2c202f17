"""Grid families (PixelCNN plain and gated, Row LSTM, Diagonal BiLSTM): cached sampling against
naive recomputation, and training throughput, side by side in one process.

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/bench_grid_sampling.py
    python benchmarks/bench_grid_sampling.py --device cuda --naive-steps 784

* **Sampling**: 16 binary 28x28 images.  *Cached* is the families' sampler
  (:meth:`run_sequential`: every layer computed once per pixel from kept maps and recurrent
  states); *naive* recomputes the whole one-pass network before each of the 784 steps
  (:meth:`run_naive`, the reference the tests check the cached sampler against, draw for draw).
  Naive sampling costs the same full pass at every step, so by default it is timed over its
  first ``--naive-steps`` steps and scaled to 784 (say ``--naive-steps 784`` to time it all).
* **Training**: images per second of one Adam step (forward + backward) on a batch of 64
  binary 28x28 images, and of scoring (``log_prob``, no gradient) a batch of 256.

Untrained (seeded) weights: the cost of a step does not depend on the values.  Results go to
stdout and ``benchmarks/results/bench_grid_sampling_<device>.txt``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pgm_ar.conditionals import get_family  # noqa: E402
from pgm_ar.utils.atomic import atomic_write_text  # noqa: E402
from pgm_ar.utils.devices import resolve_device  # noqa: E402
from pgm_ar.variables import Image  # noqa: E402

CONFIGS: Dict[str, dict] = {
    "pixelcnn": {"family": "pixelcnn", "channels": 64, "layers": 7},
    "gated_pixelcnn": {"family": "pixelcnn", "channels": 64, "layers": 7, "gated": True},
    "rowlstm": {"family": "rowlstm", "hidden": 32, "layers": 2},
    "diagbilstm": {"family": "diagbilstm", "hidden": 16, "layers": 2},
}


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def timed(fn, dev: torch.device, reps: int = 1) -> float:
    fn()  # warm-up
    sync(dev)
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    sync(dev)
    return (time.perf_counter() - t0) / reps


def naive_time(cond, n: int, steps: int, dev: torch.device) -> float:
    """Seconds of ``steps`` naive steps (full pass + draw), as :meth:`run_naive` does them."""
    D = cond.num_values
    out = torch.zeros(n, D, device=dev)
    with torch.no_grad():
        cond.ordered_params(out, None)  # warm-up
        sync(dev)
        t0 = time.perf_counter()
        for t in range(steps):
            out[:, t] = cond.sample_step(cond.ordered_params(out, None)[:, t])
        sync(dev)
    return time.perf_counter() - t0


def bench(name: str, spec: dict, dev: torch.device, n: int, naive_steps: int) -> Optional[dict]:
    opts = {k: v for k, v in spec.items() if k != "family"}
    try:
        fam = get_family(spec["family"])(**opts)
    except Exception as exc:  # a family not in this checkout: say so, go on with the others
        print(f"{name}: skipped ({exc})", flush=True)
        return None
    img = Image("x", shape=(1, 28, 28))
    cond = fam.build(img, []).to(dev)
    cond.eval()
    D = cond.num_values
    with torch.no_grad():
        t_cached = timed(lambda: cond.run_sequential(None, n), dev)
    steps = min(naive_steps, D)
    t_naive = naive_time(cond, n, steps, dev) * D / steps
    cond.train()
    opt = torch.optim.Adam(cond.parameters(), lr=1e-3)
    xb = torch.bernoulli(torch.full((64, 1, 28, 28), 0.3, device=dev))

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = -cond({}, batch_size=64).log_prob(xb).mean()
        loss.backward()
        opt.step()

    t_step = timed(step, dev, reps=3 if dev.type == "cpu" else 20)
    cond.eval()
    xe = torch.bernoulli(torch.full((256, 1, 28, 28), 0.3, device=dev))
    with torch.no_grad():
        t_eval = timed(lambda: cond({}, batch_size=256).log_prob(xe), dev,
                       reps=2 if dev.type == "cpu" else 10)
    row = {"name": name, "params": cond.num_parameters(), "cached_s": t_cached,
           "naive_s": t_naive, "naive_timed_steps": steps, "speedup": t_naive / t_cached,
           "train_img_s": 64 / t_step, "eval_img_s": 256 / t_eval}
    print(f"{name:15s} {row['params']:>9,} params  sample {n}: cached {t_cached:7.2f} s, naive "
          f"{t_naive:8.1f} s ({'timed' if steps == D else f'{steps} steps timed, scaled'}) -> "
          f"{row['speedup']:6.1f}x;  train {row['train_img_s']:7.0f} img/s, score "
          f"{row['eval_img_s']:7.0f} img/s", flush=True)
    return row


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    ap.add_argument("-n", type=int, default=16, help="images to sample")
    ap.add_argument("--naive-steps", type=int, default=56,
                    help="naive steps timed (scaled to 784); 784 times them all")
    ap.add_argument("--families", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    dev = resolve_device(args.device)
    torch.manual_seed(0)
    head = (f"# grid families on {dev} ({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'CPU'}), "
            f"torch {torch.__version__}, threads {torch.get_num_threads()}; binary 28x28, "
            f"sampling {args.n} images, training batch 64, scoring batch 256")
    print(head, flush=True)
    rows = [r for r in (bench(k, CONFIGS[k], dev, args.n, args.naive_steps)
                        for k in args.families) if r is not None]
    lines = [head, "# configs: " + "; ".join(f"{k}={v}" for k, v in CONFIGS.items()),
             f"{'family':15s} {'params':>9s} {'cached s':>9s} {'naive s':>9s} {'speed-up':>9s} "
             f"{'train img/s':>12s} {'score img/s':>12s}"]
    for r in rows:
        lines.append(f"{r['name']:15s} {r['params']:>9,} {r['cached_s']:9.2f} {r['naive_s']:9.1f} "
                     f"{r['speedup']:8.1f}x {r['train_img_s']:12.0f} {r['eval_img_s']:12.0f}")
    lines.append(f"# naive: {rows[0]['naive_timed_steps'] if rows else '-'} of 784 steps timed "
                 "and scaled (each naive step is one full pass)")
    atomic_write_text(Path(args.out) / f"bench_grid_sampling_{dev.type}.txt", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
