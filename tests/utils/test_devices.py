"""Device resolution (pgm_ar.utils.devices), with and without a (simulated) GPU."""
from __future__ import annotations

import pytest
import torch

from pgm_ar.errors import PgmArError
from pgm_ar.utils.devices import resolve_device


@pytest.fixture
def gpus(monkeypatch):
    """``gpus(n)`` makes torch report ``n`` CUDA GPUs (0: none)."""
    def set_count(n: int) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
    return set_count


@pytest.mark.parametrize("text", ["cpu", "CPU", " Cpu ", torch.device("cpu")])
def test_cpu_in_any_form(text):
    assert resolve_device(text) == torch.device("cpu")


@pytest.mark.parametrize("auto", ["auto", "AUTO", " Auto", None])
@pytest.mark.parametrize("count", [0, 2])
def test_auto_picks_the_gpu_when_there_is_one(auto, count, gpus):
    gpus(count)
    assert resolve_device(auto) == torch.device("cuda" if count else "cpu")


@pytest.mark.parametrize("text", ["cuda", "CUDA:0", "cuda:1", torch.device("cuda", 1), 1])
def test_gpus_that_exist(text, gpus):
    gpus(2)
    dev = resolve_device(text)
    assert dev.type == "cuda"
    assert dev == torch.device(text.strip().lower() if isinstance(text, str) else
                               (f"cuda:{text}" if isinstance(text, int) else text))


@pytest.mark.parametrize("text", ["cuda", "cuda:0", torch.device("cuda")])
def test_cuda_without_a_gpu_is_a_clear_error(text, gpus):
    gpus(0)
    with pytest.raises(PgmArError, match="no CUDA GPU is available.*device='cpu' or 'auto'"):
        resolve_device(text)


def test_a_gpu_index_beyond_the_gpus_present(gpus):
    gpus(1)
    with pytest.raises(PgmArError, match=r"'cuda:1': there is only 1 GPU\(s\) \(cuda:0 .. "
                                         r"cuda:0\)"):
        resolve_device("cuda:1")


@pytest.mark.parametrize("text, fragment", [
    ("gpu", "unknown device 'gpu'"), ("cuda:x", "unknown device"), ("", "unknown device"),
    ("mps", "unsupported device 'mps'"), ("meta", "unsupported device"),
    (1.0, "a device must be text"), (True, "a device must be text"), (-1, "a device must be"),
])
def test_other_values_are_errors(text, fragment, gpus):
    gpus(1)
    with pytest.raises(PgmArError, match=fragment) as exc:
        resolve_device(text)
    assert "'auto', 'cpu', 'cuda' or 'cuda:N'" in str(exc.value)
