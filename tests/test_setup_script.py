"""setup.sh chooses the torch build (CPU index without a GPU, CUDA with one, or as told) and
skips what is already in place. pip is replaced by a stub that logs its calls, so nothing is
downloaded or installed; the checks inside the script run with this interpreter."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BASH = shutil.which("bash")
pytestmark = pytest.mark.skipif(BASH is None, reason="setup.sh is a bash script; no bash here")


def make_checkout(tmp_path: Path, torch_version: str = None, cuda: str = None,
                  gpu: bool = False) -> dict:
    """A copy of setup.sh and pyproject.toml, a stub .venv/bin/python (pip calls are logged,
    the rest runs this interpreter), a fake installed torch when ``torch_version`` is given,
    and a PATH with a stub ``dot`` and, when ``gpu``, a stub ``nvidia-smi``."""
    root = tmp_path / "checkout"
    (root / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(REPO / "setup.sh", root / "setup.sh")
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    log = tmp_path / "pip.log"
    stub = root / ".venv" / "bin" / "python"
    stub.write_text(f'#!/bin/sh\nif [ "$1" = -m ] && [ "$2" = pip ]; then\n  shift 2\n'
                    f'  echo "pip $*" >> "{log}"\n  exit 0\nfi\nexec "{sys.executable}" "$@"\n')
    stub.chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # nvidia-smi as on a GPU machine, or as where the driver finds none (shadowing a real one)
    tools = {"dot": "exit 0",
             "nvidia-smi": 'echo "GPU 0: NVIDIA H200 (UUID: GPU-0)"' if gpu else
             'echo "NVIDIA-SMI has failed because it could not communicate with the driver"\n'
             'exit 9'}
    for name, body in tools.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    path = os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])
    env = {"PATH": path, "HOME": str(tmp_path), "PYTHONNOUSERSITE": "1"}
    site = tmp_path / "site"
    site.mkdir()
    if torch_version is not None:  # a fake torch found before the real one
        (site / "torch").mkdir()
        (site / "torch" / "__init__.py").write_text("")
        (site / "torch" / "version.py").write_text(
            f"__version__ = {torch_version!r}\ncuda = {cuda!r}\n")
    else:  # torch absent: a module that cannot be found
        (site / "torch.py").write_text("raise ImportError('no torch')\n")
    env["PYTHONPATH"] = str(site)
    return {"root": root, "env": env, "log": log}


def run_setup(box: dict, **extra: str) -> subprocess.CompletedProcess:
    res = subprocess.run([BASH, str(box["root"] / "setup.sh")], env={**box["env"], **extra},
                         capture_output=True, text=True, timeout=60)
    box["pip"] = box["log"].read_text().splitlines() if box["log"].exists() else []
    return res


def torch_installs(box: dict):
    return [line for line in box["pip"] if line.startswith("pip install") and "torch==" in line]


def test_cpu_build_from_the_cpu_index_without_a_gpu(tmp_path):
    box = make_checkout(tmp_path, torch_version="2.5.1", cuda="12.1")  # a CUDA build
    res = run_setup(box)
    assert res.returncode == 0, res.stderr
    assert "pip uninstall -q -y torch" in box["pip"]
    installs = torch_installs(box)
    assert "--index-url https://download.pytorch.org/whl/cpu" in installs[0]
    assert "--retries 0" in installs[0] and "--timeout" in installs[0]
    assert "pip install -q -e .[test]" in box["pip"]


def test_cuda_build_where_nvidia_smi_finds_a_gpu(tmp_path):
    box = make_checkout(tmp_path, torch_version="2.13.0+cpu", cuda=None, gpu=True)
    res = run_setup(box)
    assert res.returncode == 0, res.stderr
    installs = torch_installs(box)
    assert installs == ["pip install -q torch==2.13.0"]  # PyPI's default Linux wheel: CUDA
    assert "replacing torch (2.13.0 cpu) with the cuda build" in res.stderr


@pytest.mark.parametrize("setting, version, cuda, gpu", [
    ("auto", "2.13.0+cpu", None, False),     # the right build is there: no torch install
    ("auto", "2.13.0", "12.8", True),
    ("skip", None, None, False),             # skip: torch is left alone, even when absent
    ("cpu", "2.13.0+cpu", None, True),       # told cpu on a GPU machine
])
def test_the_right_torch_is_left_alone(tmp_path, setting, version, cuda, gpu):
    box = make_checkout(tmp_path, torch_version=version, cuda=cuda, gpu=gpu)
    res = run_setup(box, PGM_AR_TORCH=setting)
    assert res.returncode == 0, res.stderr
    assert torch_installs(box) == [] and not any("uninstall" in c for c in box["pip"])


def test_told_cuda_and_a_torch_index(tmp_path):
    box = make_checkout(tmp_path)  # no torch, no GPU
    res = run_setup(box, PGM_AR_TORCH="cuda",
                    PGM_AR_TORCH_INDEX="https://download.pytorch.org/whl/cu126")
    assert res.returncode == 0, res.stderr
    installs = torch_installs(box)
    assert "--index-url https://download.pytorch.org/whl/cu126" in installs[0]
    # the stub installs nothing, so the script says the wanted build is still missing
    assert "wanted the cuda build of torch 2.13.0, got none" in res.stderr


def test_a_bad_setting_stops_before_anything_is_made(tmp_path):
    box = make_checkout(tmp_path)
    shutil.rmtree(box["root"] / ".venv")
    res = run_setup(box, PGM_AR_TORCH="gpu")
    assert res.returncode == 2 and "PGM_AR_TORCH must be auto, cpu, cuda or skip" in res.stderr
    assert not (box["root"] / ".venv").exists() and box["pip"] == []
