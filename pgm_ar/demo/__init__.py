"""``pgm-ar demo``: the toolkit's story from coins to digits, printed and as an HTML report.

The walk-through: three coins need 7 numbers for their joint table; the chain rule rewrites
that table as a product of conditionals with the same 7 numbers; the Markov assumption
``x_{i+1} _|_ x_1..x_{i-1} | x_i`` cuts it to ``2n - 1``, at n = 3, 10 and the 784 pixels of a
28x28 image.  Then the ASIA network (independence by d-separation, exact posteriors), and
models of the shipped 14x14 digits: NADE against independent pixels and Markov chains, a
class-conditional sample grid, and how the pixel ordering changes the fit.

Everything goes into one folder (default ``demo_output/``): the drawings, the pictures,
``demo_results.json`` (every number) and ``index.html`` (the report that gathers them).
The full run takes about a minute of one CPU core; ``quick=True`` trains tiny models for a
few seconds to check that every step works.
"""
from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Union

from ..utils.atomic import atomic_write_text
from .digits import FULL, QUICK, DigitSettings, digits_sections
from .outputs import DemoOutputs
from .report import Report
from .structure import asia, coins_and_dice, image_variable, parameter_counts

__all__ = ["run_demo", "DemoResult", "DigitSettings", "FULL", "QUICK"]


@dataclass
class DemoResult:
    """What a demo run wrote.

    Attributes
    ----------
    report
        ``DIR/index.html``.
    files
        Every file written, the report last.
    results
        The numbers (also in ``DIR/demo_results.json``).
    seconds
        Wall time of the run.
    """

    report: Path
    files: List[Path]
    results: Dict[str, Any]
    seconds: float


def run_demo(out_dir: Union[str, Path] = "demo_output", draw_images: bool = True,
             quick: bool = False, echo: bool = True) -> DemoResult:
    """Run the demo: print the story and write its pictures and report into ``out_dir``.

    Parameters
    ----------
    out_dir
        Output folder; created if missing.  An existing folder is reused: the demo writes
        only its own file names and deletes nothing; it refuses to replace an
        ``index.html`` it did not write.
    draw_images
        Draw the networks (with graphviz's ``dot``; without it, DOT source ``.gv`` files and a
        note in the report).
    quick
        Train tiny models on a few hundred digits (:data:`QUICK`): seconds instead of about a
        minute, for checking the set-up; the numbers then mean little.
    echo
        Print the story while it runs.

    Returns
    -------
    DemoResult
    """
    t0 = time.perf_counter()
    out = DemoOutputs(Path(out_dir), draw_images=draw_images, echo=echo)
    settings = QUICK if quick else FULL
    rep = Report("pgm_ar: from coins to digits", intro=[
        "Declare variables and the independences you believe; pgm_ar derives the network, "
        "counts what each assumption costs, answers independence questions, and compiles the "
        "network to a Pyro model to fit, score, sample and query.",
        ("Made by `pgm-ar demo --quick` (tiny models: the digit numbers and pictures below "
         "only show that every step runs)" if quick else "Made by `pgm-ar demo`")
        + "; every number is also in `demo_results.json`.",
    ], echo=echo)
    results: Dict[str, Any] = {"quick": bool(quick)}
    results.update(coins_and_dice(rep, out))
    results.update(parameter_counts(rep, out))
    results.update(image_variable(rep, out))
    results.update(asia(rep, out))
    results.update(digits_sections(rep, out, settings))
    if not draw_images:
        rep.intro.append("Network drawings were skipped (`--no-draw`).")
    elif out.graphviz_note:
        rep.intro.append(f"Network drawings are DOT source only: {out.graphviz_note}")
    seconds = time.perf_counter() - t0

    import torch

    rep.footer.append(f"Ran in {seconds:.0f} s on {platform.machine()} with "
                      f"{torch.get_num_threads()} torch thread(s); torch {torch.__version__}, "
                      f"Python {platform.python_version()}.")
    results["seconds"] = seconds
    atomic_write_text(out.path("demo_results.json"), json.dumps(results, indent=2) + "\n")
    page = atomic_write_text(out.path("index.html"), rep.to_html(out.dir))
    if echo:
        print(f"\nWrote {len(out.written)} files to {out.dir}/:")
        for p in out.written:
            print(f"  {p}")
        print(f"Open the report: {page.resolve().as_uri()}")
        print(f"(demo finished in {seconds:.1f} s)")
    return DemoResult(page, list(out.written), results, seconds)
