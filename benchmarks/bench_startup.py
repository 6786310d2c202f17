"""Start-up time of the model commands: how long ``pgm-ar`` takes to answer a small question.

Run ``python benchmarks/bench_startup.py [--runs 7] [--compare DIR] [--out FILE]``.
It prints a table and writes it to ``benchmarks/results/bench_startup.txt``.

Each command runs ``--runs`` times as a fresh process (``python -m pgm_ar.cli ...``, the work
the ``pgm-ar`` script does), timed from the parent: the median and the minimum of the
wall-clock time, and the median CPU time (user + system) of the process, which a busy machine
changes much less.  Two reference rows time a bare interpreter and ``import torch``:
a command that needs torch cannot start faster than the second, and on a busy machine both
rise together, so compare commands with them rather than across machines.

``--compare DIR`` also times another checkout of the package (its directory goes first on
``PYTHONPATH``), each run in turn with this one's, to compare before and after a change on
the same machine under the same load.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]

#: (label, arguments of ``pgm-ar``); ``{tmp}`` is a scratch folder
COMMANDS = [
    ("pgm-ar count alarm", ["count", "alarm"]),
    ("pgm-ar query alarm --target BP --evidence HR=HIGH",
     ["query", "alarm", "--target", "BP", "--evidence", "HR=HIGH"]),
    ("pgm-ar query asia --map --evidence xray=yes",
     ["query", "asia", "--map", "--evidence", "xray=yes"]),
    ("pgm-ar sample alarm -n 10 -o x.csv", ["sample", "alarm", "-n", "10", "-o", "{tmp}/x.csv",
                                            "--force"]),
]
REFERENCES = [("python -c pass", ["-c", "pass"]),
              ("python -c 'import torch'", ["-c", "import torch"])]


def time_once(argv: Sequence[str], env: Dict[str, str], cwd: str) -> Tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one fresh process running ``argv``; a
    failure stops the run.  CPU time barely moves with the machine's load, wall time does."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def environment(source: str) -> Dict[str, str]:
    """The environment that imports ``pgm_ar`` from the checkout ``source``."""
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    env["PYTHONPATH"] = os.pathsep.join([source] + [p for p in [os.environ.get("PYTHONPATH")]
                                                    if p])
    return env


def main(argv: Sequence[str] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="processes per command")
    ap.add_argument("--compare", metavar="DIR",
                    help="another checkout, timed in turn with this one (runs interleaved, so "
                         "that a change in the machine's load falls on both alike)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_startup.txt"))
    args = ap.parse_args(argv)

    sources = [("this checkout", str(ROOT))] + ([("--compare", args.compare)]
                                               if args.compare else [])
    envs = [environment(src) for _, src in sources]
    head = f"{'command':<52}" + "".join(f" {'wall':>6} {'min':>5} {'cpu':>5}" for _ in sources)
    lines = ["bench_startup: wall-clock start-up of pgm-ar commands (fresh process each run)",
             f"python {platform.python_version()}; OMP_NUM_THREADS={envs[0]['OMP_NUM_THREADS']};"
             f" {os.cpu_count()} CPU cores; load average {os.getloadavg()[0]:.1f} at the start;"
             f" {args.runs} runs each"]
    if args.compare:
        lines.append(f"columns: this checkout, then {args.compare} (interleaved runs)")
    lines += ["", head]
    print("\n".join(lines), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [(label, [sys.executable, *a]) for label, a in REFERENCES]
        rows += [(label, [sys.executable, "-m", "pgm_ar.cli",
                          *[x.format(tmp=tmp) for x in a]]) for label, a in COMMANDS]
        for label, cmd in rows:
            times: List[List[Tuple[float, float]]] = [[] for _ in sources]
            for _ in range(args.runs):
                for k, env in enumerate(envs):
                    # run in the scratch folder: 'python -m' puts the working folder first
                    # on sys.path, which would shadow the checkout named on PYTHONPATH
                    times[k].append(time_once(cmd, env, tmp))
            line = f"{label:<52}" + "".join(
                f" {statistics.median(w for w, _ in ts):>5.2f}s {min(w for w, _ in ts):>4.2f}s"
                f" {statistics.median(c for _, c in ts):>4.2f}s" for ts in times)
            print(line, flush=True)
            lines.append(line)
    lines.append(f"load average {os.getloadavg()[0]:.1f} at the end")
    print(lines[-1])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_name(out.name + ".tmp")
    tmp_out.write_text("\n".join(lines) + "\n")
    os.replace(tmp_out, out)  # atomic: a stopped run leaves the previous result
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
