"""Answers from a file's CPTs without compiling: the same as a compiled model's, and no Pyro."""
from __future__ import annotations

import subprocess
import sys

import pandas as pd

from conftest import REPO
from pgm_ar import example_network
from pgm_ar.model import compile
from pgm_ar.tables_model import TablesModel


def test_same_tables_queries_and_samples_as_the_compiled_model():
    net = example_network("alarm")
    fast, model = TablesModel.from_network(net), compile(net)
    ref = model.tables()
    for name, table in fast.tables().items():
        assert table.dtype == ref[name].dtype and bool((table == ref[name]).all()), name
    ev = {"HR": "HIGH", "VENTLUNG": "LOW"}
    assert fast.query(["BP", "LVFAILURE"], ev) == model.query(["BP", "LVFAILURE"], ev)
    assert fast.query("BP") == model.query("BP")
    assert fast.map_query(None, ev) == model.map_query(None, ev)
    assert fast.map_query(["BP"], ev) == model.map_query(["BP"], ev)
    for evidence in (None, ev):
        a, b = fast.sample(200, evidence, seed=3), model.sample(200, evidence, seed=3)
        pd.testing.assert_frame_equal(a, b)
        assert a.attrs == b.attrs


def test_networks_that_need_compiling_are_left_to_it():
    from pgm_ar import BayesNet, Bernoulli, Gaussian

    assert TablesModel.from_network(BayesNet([Bernoulli("a")])) is None      # no CPT
    assert TablesModel.from_network(BayesNet([Gaussian("x")])) is None


def test_query_and_sample_of_an_example_do_not_import_pyro(tmp_path):
    code = ("import sys; from pgm_ar.cli import main; "
            "assert main(['query', 'asia', '--target', 'lung', '--evidence', 'smoke=yes']) == 0; "
            f"assert main(['sample', 'asia', '-n', '5', '-o', r'{tmp_path / 'x.csv'}']) == 0; "
            "print('pyro' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    assert out.splitlines()[-1] == "False"
    assert (tmp_path / "x.csv").read_text().count("\n") == 6


def test_the_command_line_exits_quickly_with_its_code_and_output(tmp_path):
    # run as the pgm-ar script runs (argv from the command line): the output is complete
    # and the exit code is the command's, errors included
    cmd = [sys.executable, "-m", "pgm_ar.cli", "query", "asia", "--target", "lung"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.splitlines()[0] == "p(lung):"
    assert len(done.stdout.splitlines()) == 3
    bad = subprocess.run(cmd[:-1] + ["nosuch"], cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == 2 and "nosuch" in bad.stderr
