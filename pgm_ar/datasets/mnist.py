"""MNIST: the IDX reader (checked, optionally downloaded), binarization and splits.

MNIST comes as four gzip-compressed IDX files in a directory the user names::

    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz   (60,000 digits)
    t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz    (10,000 digits)

:func:`load_mnist` parses them (magic number, element type, rank and size are all checked) and
verifies the SHA-256 of each file's *decompressed* IDX content against the canonical MNIST
data, so a recompressed copy passes and a truncated, corrupted or different file fails with a
:class:`~pgm_ar.errors.DataError` naming the file.  With ``download=True`` missing files are
fetched from public mirrors (:data:`MNIST_MIRRORS`, or the ``PGM_AR_MNIST_MIRROR`` environment
variable), verified, and only then moved into place (a temporary file in the same directory,
then ``os.replace``), so an interrupted or bad download never leaves a partial file behind.

Binarized MNIST (see ``docs/data.md``): pixels are grey levels 0..255; *stochastic*
binarization draws each pixel as ``Bernoulli(value / 255)``, *threshold* binarization sets it
to ``value > 127`` (i.e. ``value / 255 > 0.5``).  The convention for reported numbers is a test
set binarized once with a fixed seed (:func:`binarized_mnist_test`) and training data
re-binarized every epoch (:class:`DynamicBinarization` inside :func:`pgm_ar.training.fit`, or
:class:`DynamicBinarizedDataset` for a DataLoader of your own); validation is the last 10,000
of the 60,000 training images (:func:`train_valid_split`).

>>> x = torch.tensor([[0, 64, 191, 255]], dtype=torch.uint8)
>>> binarize(x, "threshold").tolist()
[[0.0, 0.0, 1.0, 1.0]]
>>> bool((binarize(x, seed=3) == binarize(x, seed=3)).all())
True
"""
from __future__ import annotations

import hashlib
import http.client
import os
from enum import Enum
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple, Union
import urllib.error
import urllib.request

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import DataError, PgmArError
from ..utils.atomic import atomic_write_bytes
from ..utils.files import gunzip_capped
from ..utils.enums import parse_enum

__all__ = [
    "MNIST_FILES", "MNIST_SHA256", "MNIST_MIRRORS", "MIRROR_ENV", "Binarization",
    "read_idx", "load_mnist", "download_mnist", "train_valid_split", "binarize",
    "binarized_mnist_test", "DynamicBinarization", "DynamicBinarizedDataset",
]

PathLike = Union[str, "os.PathLike[str]"]

#: split -> (images file, labels file), the canonical names
MNIST_FILES: Dict[str, Tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

#: SHA-256 of the decompressed IDX content of each canonical file.  Hashing the content rather
#: than the gzip bytes accepts any faithful recompression (mirrors and copies differ in gzip
#: headers and levels) while still rejecting any change to a single pixel or label.
MNIST_SHA256: Dict[str, str] = {
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

#: (rank, number of examples) expected of each canonical file
_MNIST_SHAPES: Dict[str, Tuple[int, ...]] = {
    "train-images-idx3-ubyte.gz": (60000, 28, 28),
    "train-labels-idx1-ubyte.gz": (60000,),
    "t10k-images-idx3-ubyte.gz": (10000, 28, 28),
    "t10k-labels-idx1-ubyte.gz": (10000,),
}

#: public mirrors of the MNIST files, tried in order (base URLs; the file name is appended)
MNIST_MIRRORS: Tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

#: environment variable holding mirror base URLs (comma or whitespace separated) that replace
#: :data:`MNIST_MIRRORS`
MIRROR_ENV = "PGM_AR_MNIST_MIRROR"

# IDX element type code -> numpy big-endian dtype
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
# a downloaded file larger than this is not an MNIST file (the largest is 9.9 MB)
_MAX_DOWNLOAD_BYTES = 64 * 2**20


class Binarization(str, Enum):
    """How grey levels become binary pixels."""

    #: each pixel ~ Bernoulli(value / 255), with an explicit seed or generator
    STOCHASTIC = "stochastic"
    #: pixel = value / 255 > threshold (0.5 by default)
    THRESHOLD = "threshold"


# --------------------------------------------------------------------------- IDX files
def _decompress(path: Any, raw: bytes) -> bytes:
    """The IDX bytes of a file's content: gunzipped when it is gzip (magic 1f 8b), else as is."""
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        # capped: a small crafted .gz must not expand to gigabytes before any check
        return gunzip_capped(raw, str(path))
    except PgmArError as exc:
        if "over the limit" in str(exc):
            raise DataError(str(exc)) from None
        if "truncated" in str(exc):
            raise DataError(f"{path}: truncated gzip file (the compressed stream ends early); "
                            "delete it and download it again") from None
        raise DataError(f"{path}: corrupt gzip file ({exc}); delete it and download it "
                        "again") from None


def _parse_idx(path: Any, data: bytes) -> np.ndarray:
    """Parse IDX bytes: 2 zero bytes, a type code, the rank, the sizes (big-endian int32), data."""
    if len(data) < 4:
        raise DataError(f"{path}: not an IDX file (only {len(data)} bytes)")
    zero, code, rank = data[:2], data[2], data[3]
    if zero != b"\x00\x00" or code not in _IDX_DTYPES or rank == 0:
        raise DataError(f"{path}: not an IDX file (magic number {data[:4].hex()}; expected "
                        "00 00, a type code among 08 09 0b 0c 0d 0e, and a rank >= 1)")
    header = 4 + 4 * rank
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header ({len(data)} bytes, the header of a "
                        f"rank-{rank} file has {header})")
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=rank, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) < expected:
        raise DataError(f"{path}: truncated IDX file: the header declares shape {shape} "
                        f"({expected} bytes) but the file has {len(data)} bytes")
    if len(data) > expected:
        raise DataError(f"{path}: corrupt IDX file: {len(data) - expected} bytes after the "
                        f"data of shape {shape}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def read_idx(path: PathLike) -> np.ndarray:
    """Read one IDX file (gzip-compressed or not) into a numpy array.

    Parameters
    ----------
    path
        An ``.idx*-ubyte`` file, or its ``.gz``.

    Returns
    -------
    numpy.ndarray
        The array with the shape and element type the header declares (read-only view).

    Raises
    ------
    DataError
        The file is missing, not IDX, truncated, or has trailing bytes; the message names it.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return _parse_idx(path, _decompress(path, raw))


def _check_mnist_file(path: Any, name: str, raw: bytes, verify: bool) -> np.ndarray:
    """Parse one MNIST file's bytes and check its shape and (when ``verify``) its checksum."""
    content = _decompress(path, raw)
    array = _parse_idx(path, content)
    want = _MNIST_SHAPES[name]
    if array.dtype != np.uint8 or array.shape[1:] != want[1:]:
        raise DataError(f"{path}: an IDX file of {array.dtype} with shape {array.shape}; "
                        f"{name} holds uint8 of shape {want}")
    if verify:
        digest = hashlib.sha256(content).hexdigest()
        if digest != MNIST_SHA256[name]:
            raise DataError(f"{path}: checksum mismatch: SHA-256 of the decompressed content is "
                            f"{digest}, the canonical {name} has {MNIST_SHA256[name]}; the file "
                            "is corrupt or not the original MNIST (pass verify=False to read "
                            "another IDX data set with MNIST's file names)")
    return array


def _find(data_dir: Path, name: str) -> Optional[Path]:
    """The file for ``name`` in ``data_dir``: the ``.gz`` or, failing that, the uncompressed one."""
    for candidate in (data_dir / name, data_dir / name[:-3]):
        if candidate.is_file():
            return candidate
    return None


def _mirror_list(mirrors: Optional[Sequence[str]]) -> Tuple[str, ...]:
    if mirrors is None:
        env = os.environ.get(MIRROR_ENV, "").replace(",", " ").split()
        mirrors = env or MNIST_MIRRORS
    if isinstance(mirrors, str):
        mirrors = [mirrors]
    out = tuple(m if m.endswith("/") else m + "/" for m in mirrors)
    if not out:
        raise PgmArError("no MNIST mirror given: pass at least one base URL")
    return out


def _fetch(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "pgm_ar"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        declared = response.headers.get("Content-Length")
        length = int(declared) if declared and declared.isdigit() else None
        if length is not None and length > _MAX_DOWNLOAD_BYTES:
            raise DataError(f"{url}: {length} bytes announced; not an MNIST file")
        # read(amt) returns short data silently when the server hangs up early, so the
        # length is checked against the announced one below
        data = response.read(_MAX_DOWNLOAD_BYTES + 1)
    if len(data) > _MAX_DOWNLOAD_BYTES:
        raise DataError(f"{url}: more than {_MAX_DOWNLOAD_BYTES} bytes; not an MNIST file")
    if length is not None and len(data) != length:
        raise DataError(f"{url}: incomplete download: {len(data)} of {length} bytes arrived")
    return data


def download_mnist(data_dir: PathLike, splits: Sequence[str] = ("train", "test"), *,
                   mirrors: Optional[Sequence[str]] = None, timeout: float = 60.0) -> Dict[str, Path]:
    """Fetch the MNIST files of ``splits`` that ``data_dir`` lacks, verified by checksum.

    Each file is downloaded into memory, parsed and checked against :data:`MNIST_SHA256`, and
    only then written (temporary file in ``data_dir``, then ``os.replace``), so no partial or
    unverified file is ever left under the final name.  Mirrors are tried in order until one
    gives a valid file.

    Parameters
    ----------
    data_dir
        Directory to hold the files (created if needed).
    splits
        Any of ``"train"``, ``"test"``.
    mirrors
        Base URLs; default: the ``PGM_AR_MNIST_MIRROR`` environment variable (comma or
        whitespace separated) if set, else :data:`MNIST_MIRRORS`.
    timeout
        Seconds to wait for each connection.

    Returns
    -------
    dict
        File name -> path, for every file of ``splits``.

    Raises
    ------
    DataError
        No mirror gave a valid copy of a file; the message lists each mirror's failure.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    bases = _mirror_list(mirrors)
    out: Dict[str, Path] = {}
    for split in splits:
        for name in MNIST_FILES[_check_split(split)]:
            existing = _find(data_dir, name)
            if existing is not None:
                out[name] = existing
                continue
            target = data_dir / name
            failures = []
            for base in bases:
                url = base + name
                try:
                    raw = _fetch(url, timeout)
                    _check_mnist_file(url, name, raw, verify=True)
                except DataError as exc:  # names the URL already
                    failures.append(str(exc))
                    continue
                except urllib.error.HTTPError as exc:
                    failures.append(f"{url}: HTTP {exc.code} {exc.reason}")
                    continue
                except (OSError, http.client.HTTPException, ValueError) as exc:
                    # URLError (refused, DNS, timeout) is an OSError; IncompleteRead an HTTPException
                    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
                    failures.append(f"{url}: {type(exc).__name__}: {reason}")
                    continue
                atomic_write_bytes(target, raw)
                out[name] = target
                break
            else:
                raise DataError(f"could not download {name} into {data_dir}: "
                                + "; ".join(failures))
    return out


def _check_split(split: str) -> str:
    if split not in MNIST_FILES:
        raise PgmArError(f"unknown MNIST split {split!r}: use 'train' (60,000 images) or "
                         "'test' (10,000); train_valid_split() takes the validation images")
    return split


def load_mnist(data_dir: PathLike, split: str = "train", download: bool = False, *,
               verify: bool = True, mirrors: Optional[Sequence[str]] = None
               ) -> Tuple[torch.Tensor, torch.Tensor]:
    """MNIST images and labels of one split, read from the IDX gzip files in ``data_dir``.

    Parameters
    ----------
    data_dir
        Directory with the IDX files (``.gz``, or uncompressed with the ``.gz`` dropped).
    split
        ``"train"`` (60,000 images) or ``"test"`` (10,000).
    download
        Fetch missing files from the mirrors first (see :func:`download_mnist`).
    verify
        Check each file's SHA-256 against the canonical MNIST files (set ``False`` to read
        another data set in the same format and with the same names, e.g. Fashion-MNIST).
    mirrors
        Base URLs for ``download``.

    Returns
    -------
    (images, labels)
        ``uint8`` tensor ``[N, 1, 28, 28]`` of grey levels 0..255 and ``int64`` tensor ``[N]``
        of digits 0..9.

    Raises
    ------
    DataError
        A file is missing (and ``download`` is off), truncated, corrupt, or fails its
        checksum; the message names the file.
    """
    data_dir = Path(data_dir)
    names = MNIST_FILES[_check_split(split)]
    if download:
        download_mnist(data_dir, (split,), mirrors=mirrors)
    arrays = []
    for name in names:
        path = _find(data_dir, name)
        if path is None:
            raise DataError(f"MNIST file not found: {data_dir / name}; put the four IDX files "
                            "in that directory, or pass download=True to fetch them")
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
        arrays.append(_check_mnist_file(path, name, raw, verify))
    images, labels = arrays
    if len(images) != len(labels):
        raise DataError(f"{data_dir}: {len(images)} images in {names[0]} but {len(labels)} "
                        f"labels in {names[1]}")
    if labels.size and labels.max() > 9:
        row = int(np.argmax(labels > 9))
        raise DataError(f"{data_dir / names[1]}: a label outside 0..9", row=row,
                        value=int(labels[row]))
    return (torch.from_numpy(images.copy()).unsqueeze(1),
            torch.from_numpy(labels.astype(np.int64)))


def train_valid_split(images: torch.Tensor, labels: Optional[torch.Tensor] = None,
                      n_valid: int = 10_000) -> Tuple[Any, Any]:
    """Split off the *last* ``n_valid`` examples as the validation set (MNIST: 50k / 10k).

    Returns ``(train, valid)``; each is ``(images, labels)`` when ``labels`` is given, else
    the images alone.

    >>> train, valid = train_valid_split(torch.arange(10), n_valid=3)
    >>> train.tolist(), valid.tolist()
    ([0, 1, 2, 3, 4, 5, 6], [7, 8, 9])
    """
    n = len(images)
    if not 0 <= n_valid <= n:
        raise PgmArError(f"n_valid={n_valid} must be between 0 and the {n} examples")
    cut = n - n_valid
    if labels is None:
        return images[:cut], images[cut:]
    if len(labels) != n:
        raise DataError(f"{n} images but {len(labels)} labels")
    return (images[:cut], labels[:cut]), (images[cut:], labels[cut:])


# --------------------------------------------------------------------------- binarization
def _grey_to_prob(images: torch.Tensor) -> torch.Tensor:
    """Grey values as probabilities: integers are /255, floats must already lie in [0, 1]."""
    if not isinstance(images, torch.Tensor):
        images = torch.as_tensor(np.asarray(images))
    if images.dtype == torch.bool:
        return images.float()
    if not images.is_floating_point():
        return images.float().div_(255.0)
    if images.numel() and (images.min() < 0 or images.max() > 1):
        raise DataError("float images must hold probabilities in [0, 1] (integer images are "
                        "read as grey levels 0..255)",
                        value=float(images.min() if images.min() < 0 else images.max()))
    return images.float()


def binarize(images: torch.Tensor, mode: Union[str, Binarization] = Binarization.STOCHASTIC, *,
             seed: Optional[int] = None, generator: Optional[torch.Generator] = None,
             threshold: float = 0.5, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Binary images from grey ones.

    Parameters
    ----------
    images
        ``uint8`` grey levels 0..255, or floats in [0, 1].
    mode
        ``"stochastic"``: pixel ~ Bernoulli(value / 255); ``"threshold"``: value / 255 >
        ``threshold``.
    seed, generator
        Randomness of stochastic mode: a seed (a fresh CPU generator) or a generator on the
        images' device; neither means torch's global generator.  Same seed, same images.
    threshold
        The cut of threshold mode.
    dtype
        Output type (0 / 1 values).

    Returns
    -------
    torch.Tensor
        Same shape and device as ``images``.
    """
    mode = _binarization(mode)
    p = _grey_to_prob(images)
    if mode is Binarization.THRESHOLD:
        return (p > threshold).to(dtype)
    if seed is not None and generator is not None:
        raise PgmArError("give binarize() a seed or a generator, not both")
    if seed is not None:
        generator = torch.Generator(device=p.device).manual_seed(int(seed))
    u = torch.rand(p.shape, generator=generator, device=p.device)
    return (u < p).to(dtype)


def _binarization(mode: Union[str, Binarization]) -> Binarization:
    return parse_enum(Binarization, mode, "binarization")


def binarized_mnist_test(data_dir: PathLike, seed: int = 0, download: bool = False,
                         mode: Union[str, Binarization] = Binarization.STOCHASTIC
                         ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The MNIST test set binarized once with a fixed seed: the set test NLLs are reported on.

    Returns ``(images, labels)``: ``float32 [10000, 1, 28, 28]`` of 0 / 1 and ``int64 [10000]``.
    """
    images, labels = load_mnist(data_dir, "test", download=download)
    return binarize(images, mode, seed=None if _binarization(mode) is Binarization.THRESHOLD
                    else seed), labels


def _epoch_seed(seed: int, epoch: int) -> int:
    # distinct, reproducible stream per (seed, epoch); the multiplier keeps streams apart
    return (int(seed) * 1_000_003 + int(epoch)) % (2**63)


class DynamicBinarization:
    """A per-batch transform for :func:`pgm_ar.training.fit`: re-binarize the grey images of
    every batch, so each epoch sees a fresh stochastic binarization.

    ``fit`` calls ``transform(batch, generator)`` with a generator seeded from its ``seed`` and
    the epoch, on the training device, so runs (and resumed runs) are reproducible.

    Parameters
    ----------
    key
        Where the images are in a batch: ``None`` for a tensor batch (or the first element of
        a tuple batch), a name for a dict batch.
    mode
        ``"stochastic"`` (default) or ``"threshold"``.

    >>> t = DynamicBinarization()
    >>> g = torch.Generator().manual_seed(0)
    >>> t(torch.tensor([[0, 255]], dtype=torch.uint8), g).tolist()
    [[0.0, 1.0]]
    """

    def __init__(self, key: Optional[str] = None,
                 mode: Union[str, Binarization] = Binarization.STOCHASTIC) -> None:
        self.key = key
        self.mode = _binarization(mode)

    def __call__(self, batch: Any, generator: Optional[torch.Generator] = None) -> Any:
        def bin_(x: torch.Tensor) -> torch.Tensor:
            return binarize(x, self.mode, generator=generator)

        if isinstance(batch, torch.Tensor):
            return bin_(batch)
        if isinstance(batch, dict):
            if self.key not in batch:
                raise DataError(f"DynamicBinarization(key={self.key!r}): the batch has keys "
                                f"{sorted(batch)}")
            return {**batch, self.key: bin_(batch[self.key])}
        if isinstance(batch, (tuple, list)):
            return type(batch)([bin_(batch[0]), *batch[1:]])
        raise DataError(f"DynamicBinarization cannot binarize a batch of type {type(batch).__name__}")

    def __repr__(self) -> str:
        return f"DynamicBinarization(key={self.key!r}, mode={self.mode.value!r})"


class DynamicBinarizedDataset(Dataset):
    """Grey images re-binarized once per epoch, for a DataLoader of your own.

    Call :meth:`set_epoch` before each epoch (``pgm_ar.training.fit`` does, as for a
    ``DistributedSampler``); epoch ``e`` uses a generator seeded from ``(seed, e)``, so the
    binarization of every epoch is reproducible.  Items are the binary image, or
    ``(image, label)`` when labels are given; an index may be an int, a slice or a tensor of
    indices (batched indexing).

    >>> ds = DynamicBinarizedDataset(torch.full((4, 1, 2, 2), 128, dtype=torch.uint8), seed=0)
    >>> first = ds[:].clone(); ds.set_epoch(1)
    >>> len(ds), bool((ds[:] == first).all())
    (4, False)
    >>> ds.set_epoch(0); bool((ds[:] == first).all())
    True
    """

    def __init__(self, images: torch.Tensor, labels: Optional[torch.Tensor] = None, *,
                 seed: int = 0, mode: Union[str, Binarization] = Binarization.STOCHASTIC,
                 dtype: torch.dtype = torch.float32) -> None:
        if labels is not None and len(labels) != len(images):
            raise DataError(f"{len(images)} images but {len(labels)} labels")
        self.grey = images
        self.labels = labels
        self.seed = int(seed)
        self.mode = _binarization(mode)
        self.dtype = dtype
        self.epoch = -1
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Re-binarize all images with the generator of ``epoch`` (no-op if already there)."""
        if epoch == self.epoch:
            return
        self.epoch = int(epoch)
        # the whole epoch at once: one vectorised draw instead of one per item
        self.images = binarize(self.grey, self.mode, seed=_epoch_seed(self.seed, epoch),
                               dtype=self.dtype)

    def __len__(self) -> int:
        return len(self.grey)

    def __getitem__(self, index: Any) -> Any:
        if self.labels is None:
            return self.images[index]
        return self.images[index], self.labels[index]
