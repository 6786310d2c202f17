"""Budgets are checked before allocation: tiny inputs that ask for huge memory are refused with
the numbers, within a memory cap far below what the request would take."""
from __future__ import annotations

import gzip
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import pgm_ar
from pgm_ar.errors import PgmArError, SpecError
from pgm_ar.limits import get_limits, limits_raised, set_limits
from pgm_ar.io.spec import load_spec, load_spec_text
from pgm_ar.io.bif import read_bif, read_bif_string

REPO = Path(__file__).resolve().parents[2]


def _bif_default_child(n_parents: int, states: int) -> str:
    """A short BIF whose ``default`` row names a child of ``n_parents`` parents."""
    names = ", ".join(f"s{j}" for j in range(states))
    probs = ", ".join([f"{1 / states:g}"] * states)
    out = ["network bomb { }"]
    out += [f"variable v{i} {{ type discrete [ {states} ] {{ {names} }}; }}"
            for i in range(n_parents + 1)]
    out += [f"probability ( v{i} ) {{ table {probs}; }}" for i in range(1, n_parents + 1)]
    parents = ", ".join(f"v{i}" for i in range(1, n_parents + 1))
    out.append(f"probability ( v0 | {parents} ) {{ default {probs}; }}")
    return "\n".join(out)


def test_limits_are_one_documented_setting():
    lim = get_limits()
    assert lim.max_states >= 1000 and lim.max_table_cells >= 10 ** 6
    with limits_raised(max_states=3):
        assert get_limits().max_states == 3
        with pytest.raises(PgmArError, match=r"4 states is over the limit max_states = 3"):
            pgm_ar.Categorical("x", 4)
    assert get_limits().max_states == lim.max_states
    with pytest.raises(PgmArError, match="unknown limit"):
        set_limits(max_nonsense=3)
    with pytest.raises(PgmArError, match="positive integer"):
        set_limits(max_states=0)


def test_env_var_sets_limits():
    code = ("import pgm_ar.limits as l; print(l.get_limits().max_states)")
    env = {"PGM_AR_LIMITS": "max_states=7,max_file_bytes=1e6", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "7", out.stderr


@pytest.mark.parametrize("text, match", [
    ("variables: [{name: a, states: 1000000000000}]", r"1000000000000 states is over"),
    ("variables: [{name: a, count: 100000000}]\nstructure: independent",
     r"100000000 variables is over"),
    ("variables: [{name: a, type: image, shape: [100000, 100000]}]\nstructure: independent",
     r"10000000000 values is over"),
    ("variables: [{name: a, type: image, shape: [9223372036854775808, 2]}]\n"
     "structure: independent", r"18446744073709551616 values is over"),
])
def test_spec_sizes_refused_with_numbers(text, match):
    with pytest.raises(SpecError, match=match):
        load_spec_text(text, source="s.yaml")


def test_image_class_refuses_huge_shape_before_ordering():
    with pytest.raises(PgmArError, match="max_image_values"):
        pgm_ar.Image("x", shape=(2 ** 63, 2 ** 63, 1))


def test_bif_default_row_expansion_refused_with_line():
    text = _bif_default_child(9, 10)
    assert len(text) < 2500
    with pytest.raises(SpecError, match=r"line 21.*10000000000 table entries is over"):
        read_bif_string(text)


def test_bif_thirty_parents_refused():
    with pytest.raises(SpecError, match=r"30 parents is over the limit max_parents"):
        read_bif_string(_bif_default_child(30, 2))


def test_bif_long_token_refused(tmp_path):
    p = tmp_path / "tok.bif.gz"
    p.write_bytes(gzip.compress(b"network " + b"a" * 2_000_000 + b" { }"))
    with pytest.raises(SpecError, match=r"line 1.*2000000 characters is over"):
        read_bif(p)


def test_spec_long_line_refused():
    with limits_raised(max_token_chars=100):
        with pytest.raises(SpecError, match=r"line 2.*over the limit max_token_chars"):
            load_spec_text("variables: [a]\nname: " + "x" * 200 + "\n", source="s.yaml")


def test_gzip_bomb_capped(tmp_path):
    p = tmp_path / "bomb.bif.gz"
    p.write_bytes(gzip.compress(b" " * 5_000_000))
    with limits_raised(max_decompressed_bytes=1_000_000):
        with pytest.raises(SpecError, match="max_decompressed_bytes"):
            read_bif(p)


def test_mnist_gzip_bomb_capped(tmp_path):
    from pgm_ar.datasets.mnist import read_idx
    from pgm_ar.errors import DataError

    p = tmp_path / "train-images-idx3-ubyte.gz"
    p.write_bytes(gzip.compress(b"\x00" * 5_000_000))
    with limits_raised(max_decompressed_bytes=1_000_000):
        with pytest.raises(DataError, match="max_decompressed_bytes"):
            read_idx(p)


def test_family_parameter_count_refused_before_building():
    net = pgm_ar.BayesNet([pgm_ar.Categorical("a", 3), pgm_ar.Categorical("c", 2)],
                          [("a", "c")])
    with pytest.raises(PgmArError, match=r"500000001 parameters is over the limit"):
        pgm_ar.compile(net, {"c": {"family": "mlp", "hidden": 100_000_000}})


def test_non_tabular_table_planned_and_chunked():
    """A logistic child of parents whose joint is large: tables() is refused by its planned
    size over the limit, and evaluated in chunks under it (same numbers as one batch)."""
    import torch

    vs = [pgm_ar.Categorical(f"p{i}", 30) for i in range(3)] + [pgm_ar.Categorical("c", 3)]
    net = pgm_ar.BayesNet(vs, [("p0", "c"), ("p1", "c"), ("p2", "c")])
    m = pgm_ar.compile(net, {"c": "logistic"})
    with limits_raised(max_factor_cells=1000):
        with pytest.raises(PgmArError, match=r"81000 factor entries is over"):
            m.tables()
    import pgm_ar.model.program as program

    old = program._TABLE_CHUNK_CELLS
    program._TABLE_CHUNK_CELLS = 500  # force many chunks
    try:
        chunked = m.tables()["c"]
    finally:
        program._TABLE_CHUNK_CELLS = old
    whole = m.tables()["c"]
    node = m.conditional("c")
    grid = torch.cartesian_prod(*[torch.arange(30)] * 3)
    direct = node({f"p{j}": grid[:, j] for j in range(3)}).probs.double().reshape(30, 30, 30, 3)
    assert torch.allclose(chunked, direct) and torch.allclose(whole, direct)


def _capped(code: str, mem_bytes: int = 1_500_000_000) -> subprocess.CompletedProcess:
    """Run ``code`` in a child whose address space is capped: a request that allocates first
    and checks later dies there instead of passing."""
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (mem_bytes * 4, mem_bytes * 4))

    env = {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, preexec_fn=cap, timeout=120)


def test_cli_refuses_within_a_memory_cap(tmp_path):
    bif = tmp_path / "bomb.bif"
    bif.write_text(_bif_default_child(8, 10))
    spec = tmp_path / "big.yaml"
    spec.write_text("variables: [{name: a, states: 1000000000000}]\nstructure: independent\n")
    code = f"""
    import sys
    from pgm_ar.cli import main
    for f in [{str(bif)!r}, {str(spec)!r}]:
        print(main(['count', f]))
    """
    out = _capped(code)
    assert out.stdout.split() == ["2", "2"], out.stderr
    assert "over the limit" in out.stderr and "Traceback" not in out.stderr
