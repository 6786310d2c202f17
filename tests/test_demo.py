"""``pgm-ar demo``: every section written, the numbers against independent computations, the
output folder handled with care, and the HTML report opened in headless Chromium.

The demo runs once, in its quick mode (tiny digit models), for the whole module.
"""
from __future__ import annotations

import contextlib
import io
import itertools
import json
import math
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from pgm_ar.cli import main
from pgm_ar.demo.digits import QUICK, SHAPE
from pgm_ar.demo.report import png_size
from pgm_ar.demo.structure import ASIA_PATH, ASIA_QUERIES, ASIA_STATEMENTS
from pgm_ar.io.bif import read_bif

USER_FILE = "my_notes.txt"
SECTIONS = 8
PICTURES = ["digits_curves.png", "digits_real.png", "digits_samples.png",
            "digits_sample_probs.png", "orderings.png"]
DRAWINGS = ["coins_chain_rule", "coins_markov", "coins_markov_factor_graph", "markov10",
            "chain10", "label_digit", "digit_snake_ordering", "asia", "asia_factor_graph"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    out.mkdir()
    (out / USER_FILE).write_text("mine\n")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["demo", "--quick", "--out", str(out)])
    return {"code": code, "out": out, "stdout": buf.getvalue(),
            "results": json.loads((out / "demo_results.json").read_text()),
            "html": (out / "index.html").read_text()}


def _img_sources(html: str):
    return re.findall(r'<img src="([^"]+)"', html)


def test_cli_says_where_everything_went(demo):
    assert demo["code"] == 0
    out, stdout = demo["out"], demo["stdout"]
    assert f"Open the report: {(out / 'index.html').resolve().as_uri()}" in stdout
    for name in PICTURES + ["demo_results.json", "index.html"]:
        assert str(out / name) in stdout
    # the user's own file is untouched and not claimed by the demo
    assert (out / USER_FILE).read_text() == "mine\n" and USER_FILE not in stdout


def test_every_section_and_picture(demo):
    out, html = demo["out"], demo["html"]
    assert html.count("<section id=") == SECTIONS
    # each section: a heading, then its one-sentence summary
    assert len(re.findall(r'</h2><p class="sentence">[^<]+\.</p>', html)) == SECTIONS
    srcs = _img_sources(html)
    have_dot = shutil.which("dot") is not None
    expected = PICTURES + ([f"{d}.svg" for d in DRAWINGS] if have_dot else [])
    assert sorted(srcs) == sorted(expected)
    for src in srcs:
        path = out / src
        assert path.is_file(), src
        if src.endswith(".png"):
            w, h = png_size(path)
            assert w > 100 and h > 100, src
        else:
            root = ET.parse(path).getroot()
            assert root.tag.endswith("svg") and len(list(root.iter())) > 5, src
    if not have_dot:  # DOT source instead, and the page says why
        for d in DRAWINGS:
            assert (out / f"{d}.gv").is_file()
        assert "graphviz" in html


def test_sample_grid_has_one_row_per_digit(demo):
    # rows of (14 + 1 border) pixels, drawn 5 x 5 each: 10 rows and per_class columns
    w, h = png_size(demo["out"] / "digits_sample_probs.png")
    cell = (SHAPE[1] + 1) * 5
    assert h == 10 * cell + 5
    assert w == QUICK.per_class * cell + 5


def test_parameter_counts_match_closed_forms(demo):
    counts = demo["results"]["counts"]
    for n in (3, 10, 784):
        c = counts[str(n)]
        assert int(c["full joint"]) == int(c["chain rule"]) == 2 ** n - 1
        assert c["Markov k=1"] == 2 * n - 1
        assert c["Markov k=2"] == 1 + 2 + 4 * (n - 2)
        assert c["independent"] == n
    assert str(2 ** 784 - 1)[:79] in demo["stdout"]
    assert demo["results"]["coins"] == {"chain_rule": 7, "markov": 5, "statements": {
        "x3 _|_ x1 | x2": True, "x3 _|_ x1": False}}
    assert demo["results"]["dice"] == {"joint": 35, "independent": 10}


def _asia_joint():
    """The joint table of ASIA by brute-force multiplication of its CPTs."""
    net = read_bif(ASIA_PATH)
    names = list(net.names)
    cards = [net.variable(n).cardinality for n in names]
    joint = np.zeros(cards)
    for states in itertools.product(*[range(c) for c in cards]):
        idx = dict(zip(names, states))
        p = 1.0
        for n in names:
            cpd = net.cpd(n)
            p *= cpd.probs[tuple(idx[q] for q in cpd.parents) + (idx[n],)]
        joint[states] = p
    return net, names, joint


def test_asia_answers_match_enumeration(demo):
    net, names, joint = _asia_joint()
    yes = {n: list(net.variable(n).states).index("yes") for n in names}
    got = demo["results"]["asia"]["posteriors"]
    assert len(got) == len(ASIA_QUERIES)
    for q in got:
        sel = [slice(None)] * len(names)
        for var, state in q["evidence"].items():
            sel[names.index(var)] = list(net.variable(var).states).index(state)
        sub = joint[tuple(sel)]
        kept = [n for n in names if n not in q["evidence"]]
        axis = tuple(i for i, n in enumerate(kept) if n != q["target"])
        marg = sub.sum(axis=axis)
        assert q["p_yes"] == pytest.approx(marg[yes[q["target"]]] / marg.sum(), abs=1e-9)

    # statements: the graph's answer holds in the numbers (independent within round-off;
    # the dependent ones measurably dependent, ASIA's tables being generic)
    for text, _ in ASIA_STATEMENTS:
        left, right = text.split("_|_")
        y_part, _, z_part = right.partition("|")
        x, y = left.strip(), y_part.strip()
        zs = [z.strip() for z in z_part.split(",") if z.strip()]
        keep = [x, y] + zs
        m = joint.sum(axis=tuple(i for i, n in enumerate(names) if n not in keep))
        order = [n for n in names if n in keep]
        m = np.moveaxis(m, [order.index(v) for v in keep], range(len(keep)))
        pz = m.sum(axis=(0, 1), keepdims=True)
        gap = np.abs(m * pz - m.sum(axis=1, keepdims=True) * m.sum(axis=0, keepdims=True)).max()
        implied = demo["results"]["asia"]["statements"][text]
        assert (gap < 1e-12) == implied, (text, gap)


def test_digit_models_are_sane(demo):
    digits = demo["results"]["digits"]
    uniform = SHAPE[1] * SHAPE[2] * math.log(2.0)  # NLL of a coin flip per pixel
    D, K, H = SHAPE[1] * SHAPE[2], 10, QUICK.hidden
    for key, r in digits["models"].items():
        assert math.isfinite(r["nll_nats"]) and 0 < r["nll_nats"] < uniform, key
        assert r["bits_per_pixel"] == pytest.approx(r["nll_nats"] / uniform)
        assert len(r["val_curve"]) == r["epochs"] and all(map(math.isfinite, r["val_curve"]))
        # parameters by closed form: AR-k tables sum_t 2^min(t, k), NADE 2DH + D + H; the
        # label adds one weight per pixel and label state (per hidden unit for NADE)
        if r["family"] == "nade":
            assert r["parameters"] == 2 * D * H + D + H + K * H, key
        else:
            table = sum(2 ** min(t, r["k"]) for t in range(D))
            assert r["parameters"] == table + D * K, key
    assert digits["n_train"] == QUICK.max_train and digits["n_valid"] == QUICK.max_valid
    # the report shows the same numbers
    assert f'{digits["models"]["nade"]["nll_nats"]:.2f}' in demo["html"]


def test_foreign_index_html_is_not_replaced(tmp_path, capsys):
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("<html>my page</html>")
    assert main(["demo", "--quick", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "index.html" in err and "--out" in err
    assert (out / "index.html").read_text() == "<html>my page</html>"
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]


def test_own_index_html_is_reused(tmp_path):
    from pgm_ar.demo.outputs import DemoOutputs
    from pgm_ar.demo.report import Report

    page = tmp_path / "index.html"
    page.write_text(Report("an earlier run", echo=False).to_html(tmp_path))
    assert DemoOutputs(tmp_path).path("index.html") == page  # accepted: the demo wrote it


def test_out_must_be_a_folder(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["demo", "--out", str(target)]) == 2
    assert "not a folder" in capsys.readouterr().err


# --------------------------------------------------------------------------- Chromium
_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Run after the page and its images have loaded: record each image's decoded size in the
# DOM, which --dump-dom then prints.
_CHECK = """<script>
window.addEventListener('load', function () {
  var r = Array.prototype.map.call(document.images, function (i) {
    return {src: i.getAttribute('src'), w: i.naturalWidth, h: i.naturalHeight};
  });
  document.body.setAttribute('data-image-check', JSON.stringify(r));
});
</script>"""


def _browser():
    for name in _BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def test_report_opens_in_chromium_with_every_image(demo, tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium on PATH (tried " + ", ".join(_BROWSERS) + "); "
                    "scripts/install_chromium.sh installs it on Debian/Ubuntu")
    out = demo["out"]
    page = out / "_chromium_check.html"
    page.write_text(demo["html"].replace("</body>", _CHECK + "</body>"))
    try:
        res = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000",
             "--dump-dom", page.resolve().as_uri()],
            capture_output=True, text=True, timeout=120)
    finally:
        page.unlink()
    assert res.returncode == 0, res.stderr[-2000:]
    m = re.search(r'data-image-check="([^"]*)"', res.stdout)
    assert m, "the page did not finish loading: " + res.stdout[:500]
    images = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert sorted(i["src"] for i in images) == sorted(_img_sources(demo["html"]))
    broken = [i["src"] for i in images if not (i["w"] > 0 and i["h"] > 0)]
    assert not broken, f"images that did not load or decode: {broken}"
    assert "pgm_ar: from coins to digits" in res.stdout
