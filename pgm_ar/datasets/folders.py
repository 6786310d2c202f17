"""Your own images: a directory of PNG files, or an ``.npz`` array, with optional labels.

**A directory of PNGs** (``*.png``, any case; names starting with ``.`` are skipped) is read
in one of two layouts:

* flat: ``DIR/*.png``, no labels;
* one subdirectory per class: ``DIR/<class>/*.png``; the classes are the subdirectory names
  in sorted order and an image's label is its class's index in that order.

Files are read in sorted name order.  Every image must have the same size and the same
number of channels.  How each PNG's mode becomes channels:

==================  ===========================================================
``L`` (8-bit grey)  1 channel
``1`` (bilevel)     1 channel, values 0 / 255
``RGB``             3 channels
``LA`` / ``RGBA``   the alpha channel is dropped when every pixel is opaque (alpha
                    255); a transparent pixel is an error (flatten the image first:
                    what colour is under it is the user's choice, not ours)
``P`` (palette)     expanded through the palette (its transparency as alpha, as above):
                    1 channel when every colour it uses is grey (R = G = B), else 3
16-bit, float, ...  refused: convert to 8 bits per channel first
==================  ===========================================================

**An .npz file** holds ``images``, a ``uint8`` array ``(N, H, W, C)`` with ``C`` 1 or 3, or
``(N, H, W)`` for greyscale (a file with a single array under another name, e.g.
``np.savez(path, x)``, is read too), optionally ``labels`` (``N`` integers ``>= 0``) and
``classes`` (the class names; without it there are ``max(labels) + 1`` classes named
``"0"``, ``"1"``, ...).

Both are sized from their headers before anything is decoded (:mod:`pgm_ar.limits`): each
PNG's declared width, height and colour type against ``max_image_values`` (a decompression
bomb is refused by name), a directory's number of files against ``max_images`` and the set's
decoded bytes against ``max_image_bytes`` (from the first image), and every ``.npz`` array's
shape and dtype against the same budgets.

Both give an :class:`ImageSet` with ``uint8 (N, C, H, W)`` images, values 0..255.  Mistakes
(mixed sizes or modes, a non-``uint8`` array, a wrong rank, an empty directory) raise
:class:`~pgm_ar.errors.DataError` naming the file.

:func:`holdout_split` cuts a deterministic validation part off (``VALID_FRACTION`` = 10 % of
the images, at least one, chosen by a permutation seeded with ``SPLIT_SEED`` = 0).

>>> train, valid = holdout_split(20)
>>> len(train), len(valid), sorted(set(train) | set(valid)) == list(range(20))
(18, 2, True)
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Tuple, Union

import numpy as np
import torch

from ..errors import DataError
from ..limits import check as check_limit

__all__ = ["ImageSet", "VALID_FRACTION", "SPLIT_SEED", "load_images", "load_png_dir",
           "load_npz_images", "read_png", "holdout_split", "png_size", "npz_headers",
           "PNG_SIGNATURE"]

PathLike = Union[str, "os.PathLike[str]"]

#: share of a user's images held out for validation by :func:`holdout_split`
VALID_FRACTION = 0.1
#: seed of the permutation that chooses them
SPLIT_SEED = 0
# other picture formats: named in an error rather than silently skipped
_OTHER_PICTURES = {".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


class ImageSet(NamedTuple):
    """Images read by :func:`load_images` (unpacks as a tuple)."""

    #: ``uint8 (N, C, H, W)``, values 0..255
    images: torch.Tensor
    #: ``int64 (N,)`` class indices, or ``None``
    labels: Optional[torch.Tensor]
    #: the class names (index -> name), or ``None`` without labels
    classes: Optional[Tuple[str, ...]]
    #: what was read (the path), for messages and logs
    source: str


# --------------------------------------------------------------------------- PNG files
def read_png(path: PathLike) -> np.ndarray:
    """One PNG as ``uint8 (H, W, C)``, ``C`` 1 or 3 (modes as in the module docstring).

    Raises
    ------
    DataError
        The file is unreadable, not an image, of a refused mode, or has transparent pixels.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    png_size(path)  # budgets from the header, before PIL decodes (or allocates) anything
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode == "P" or mode == "PA":
                has_alpha = mode == "PA" or "transparency" in img.info
                img = img.convert("RGBA" if has_alpha else "RGB")
                arr = np.asarray(img)
                arr = _drop_alpha(path, arr) if has_alpha else arr
                if bool((arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all()):
                    arr = arr[..., :1]  # a palette of greys: one channel
                return np.ascontiguousarray(arr)
            if mode == "1":
                img = img.convert("L")
                mode = "L"
            if mode not in ("L", "LA", "RGB", "RGBA"):
                why = ("more than 8 bits per channel" if mode.startswith(("I", "F"))
                       else "a colour space other than greyscale or RGB")
                raise DataError(f"{path}: PNG mode {mode!r} ({why}) is not read; convert it "
                                "to 8-bit greyscale ('L') or RGB")
            arr = np.asarray(img)
    except DataError:  # ours, already naming the file (DataError is a ValueError too)
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path}: not a readable PNG image ({exc})") from None
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if mode in ("LA", "RGBA"):
        arr = _drop_alpha(path, arr)
    return np.ascontiguousarray(arr, dtype=np.uint8)


#: the first bytes of every PNG file
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: values per pixel while decoding, by PNG colour type (a palette may expand to RGBA)
_PNG_CHANNELS = {0: 1, 2: 3, 3: 4, 4: 2, 6: 4}


def png_size(path: PathLike) -> Tuple[int, int, int]:
    """``(width, height, values per pixel)`` of a PNG, read from its header (26 bytes) and
    checked against the budgets (:mod:`pgm_ar.limits`): the file's bytes
    (``max_file_bytes``) and the values it decodes to (``max_image_values``), so that a
    decompression bomb (a few KB declaring 100000 x 100000 pixels) is refused before it is
    decoded.

    Raises
    ------
    DataError
        Not a file, or not a PNG (no PNG signature or header).
    PgmArError
        Over a budget (naming the file, the size, the limit and how to raise it).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(26)
    except OSError as exc:
        raise DataError(f"{path}: not a readable PNG image ({exc.strerror or exc})") from None
    check_limit("max_file_bytes", size, f"{path}")
    if len(head) < 26 or not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR":
        raise DataError(f"{path}: not a readable PNG image (no PNG signature and header)")
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    channels = _PNG_CHANNELS.get(head[25], 4)
    check_limit("max_image_values", width * height * channels,
                f"{path}: a {width} x {height} PNG (decoded with {channels} value(s) per pixel)",
                "shrink the image first")
    return width, height, channels


def _drop_alpha(path: Path, arr: np.ndarray) -> np.ndarray:
    alpha = arr[..., -1]
    if bool((alpha != 255).any()):
        r, c = (int(i) for i in np.argwhere(alpha != 255)[0])
        raise DataError(f"{path}: transparent pixels (alpha {int(alpha[r, c])} at row {r}, "
                        f"column {c}); flatten the image onto a background first")
    return arr[..., :-1]


def _channels_name(c: int) -> str:
    return "greyscale (1 channel)" if c == 1 else f"RGB ({c} channels)"


def _stack(files: List[Path], directory: Path) -> np.ndarray:
    """``uint8 (N, H, W, C)`` of the files, each checked against the first."""
    check_limit("max_images", len(files), f"{directory}: {len(files)} PNG files",
                "read a part of them (move the rest out of the directory)")
    w0, h0, _ = png_size(files[0])
    first = read_png(files[0])
    # the whole set's decoded size, from the first image's, before any other is decoded
    check_limit("max_image_bytes", len(files) * first.size,
                f"{directory}: {len(files)} images of {w0} x {h0} x {first.shape[2]} values",
                "read a part of them (move the rest out of the directory)")
    out = np.empty((len(files),) + first.shape, dtype=np.uint8)
    out[0] = first
    for i, f in enumerate(files[1:], start=1):
        w, h, _ = png_size(f)
        if (w, h) != (w0, h0):
            raise DataError(f"{f}: {w} x {h} pixels, but {files[0]} has {w0} x {h0}; all "
                            "images must have one size")
        arr = read_png(f)
        if arr.shape[:2] != first.shape[:2]:
            raise DataError(f"{f}: {arr.shape[1]} x {arr.shape[0]} pixels, but {files[0]} has "
                            f"{first.shape[1]} x {first.shape[0]}; all images must have one size")
        if arr.shape[2] != first.shape[2]:
            raise DataError(f"{f}: {_channels_name(arr.shape[2])}, but {files[0]} is "
                            f"{_channels_name(first.shape[2])}; the images must be all "
                            "greyscale or all colour")
        out[i] = arr
    return out


def _listing(directory: Path) -> Tuple[List[Path], List[Path]]:
    """``(png files, subdirectories)`` of a directory, sorted; other pictures are refused."""
    pngs, dirs = [], []
    for entry in sorted(directory.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            dirs.append(entry)
        elif entry.suffix.lower() == ".png":
            pngs.append(entry)
        elif entry.suffix.lower() in _OTHER_PICTURES:
            raise DataError(f"{entry}: only PNG images are read; convert it to PNG (or move it "
                            "out of the directory)")
    return pngs, dirs


def load_png_dir(path: PathLike) -> ImageSet:
    """The PNGs of a directory (flat, or one subdirectory per class), see the module docstring."""
    directory = Path(path)
    if not directory.is_dir():
        raise DataError(f"{directory}: no such directory")
    pngs, dirs = _listing(directory)
    if pngs and dirs:
        raise DataError(f"{directory}: holds both PNG files and subdirectories ({dirs[0].name}/); "
                        "put the PNGs either directly in it (no labels) or in one subdirectory "
                        "per class")
    if pngs:
        return ImageSet(torch.from_numpy(_stack(pngs, directory).transpose(0, 3, 1, 2).copy()),
                        None, None, str(directory))
    if not dirs:
        raise DataError(f"{directory}: no PNG files (and no class subdirectories) in it")
    files, labels = [], []
    for k, sub in enumerate(dirs):
        inner, nested = _listing(sub)
        if nested:
            raise DataError(f"{nested[0]}: class directories hold PNG files, not further "
                            "directories")
        if not inner:
            raise DataError(f"{sub}: class directory without PNG files; remove it or add images")
        files += inner
        labels += [k] * len(inner)
    images = torch.from_numpy(_stack(files, directory).transpose(0, 3, 1, 2).copy())
    return ImageSet(images, torch.tensor(labels, dtype=torch.int64),
                    tuple(d.name for d in dirs), str(directory))


# --------------------------------------------------------------------------- npz files
def load_npz_images(path: PathLike) -> ImageSet:
    """Images (and labels) from an ``.npz`` file, see the module docstring."""
    path = Path(path)
    _check_npz_headers(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    if "images" in arrays:
        key = "images"
    else:
        rest = [k for k in arrays if k not in ("labels", "classes")]
        if len(rest) != 1:
            raise DataError(f"{path}: no 'images' array (it holds {sorted(arrays)}); save the "
                            "images under the name 'images'")
        key = rest[0]
    x = arrays[key]
    where = f"{path}: array {key!r}"
    if x.dtype != np.uint8:
        raise DataError(f"{where} is {x.dtype}; images must be uint8 (0..255): scale them and "
                        "convert with .astype(numpy.uint8)")
    if x.ndim == 3:
        x = x[..., None]
    elif x.ndim != 4:
        raise DataError(f"{where} has shape {x.shape}; expected (N, H, W, C) or (N, H, W)")
    if x.shape[3] not in (1, 3):
        hint = (" (it looks channel-first; the layout is channel-last: use "
                "x.transpose(0, 2, 3, 1))" if x.shape[1] in (1, 3) else "")
        raise DataError(f"{where} has shape {x.shape}: {x.shape[3]} channels; expected "
                        f"(N, H, W, C) with C = 1 (grey) or 3 (RGB){hint}")
    if x.shape[0] == 0:
        raise DataError(f"{where} holds no images")
    images = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    labels = classes = None
    if "labels" in arrays:
        y = arrays["labels"]
        if not np.issubdtype(y.dtype, np.integer) or y.ndim != 1 or len(y) != len(x):
            raise DataError(f"{path}: 'labels' must be {len(x)} integers (one per image), got "
                            f"{y.dtype} of shape {y.shape}")
        if len(y) and int(y.min()) < 0:
            raise DataError(f"{path}: 'labels' must be >= 0 (class indices), found {int(y.min())}")
        if "classes" in arrays:
            names = arrays["classes"]
            if names.ndim != 1:
                raise DataError(f"{path}: 'classes' must be a list of names, got shape "
                                f"{names.shape}")
            classes = tuple(str(s) for s in names.tolist())
            if len(y) and int(y.max()) >= len(classes):
                raise DataError(f"{path}: label {int(y.max())} but only {len(classes)} classes "
                                "are named in 'classes'")
        else:
            classes = tuple(str(i) for i in range(int(y.max()) + 1 if len(y) else 0))
        labels = torch.from_numpy(y.astype(np.int64))
    elif "classes" in arrays:
        raise DataError(f"{path}: 'classes' without 'labels'")
    return ImageSet(images, labels, classes, str(path))


def npz_headers(path: PathLike) -> Dict[str, Tuple[Tuple[int, ...], np.dtype]]:
    """``{name: (shape, dtype)}`` of the arrays of an ``.npz``, read from their ``.npy``
    headers only (nothing is decompressed beyond them)."""
    import zipfile

    path = Path(path)
    out: Dict[str, Tuple[Tuple[int, ...], np.dtype]] = {}
    try:
        check_limit("max_file_bytes", path.stat().st_size, f"{path}")
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
                out[info.filename[:-4]] = (tuple(int(d) for d in shape), dtype)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, RuntimeError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    return out


def _check_npz_headers(path: Path) -> None:
    """Budgets of an ``.npz`` from its headers: every array's bytes, and the images'
    count and values per image, before numpy allocates any of them."""
    headers = npz_headers(path)
    rest = [k for k in headers if k not in ("labels", "classes")]
    key = "images" if "images" in headers else (rest[0] if len(rest) == 1 else None)
    for name, (shape, dtype) in headers.items():
        nbytes = math.prod(shape) * dtype.itemsize
        check_limit("max_image_bytes", nbytes, f"{path}: array {name!r} of shape {shape} "
                    f"({dtype})", "save a part of the images")
        if name == key and len(shape) >= 2:
            check_limit("max_images", shape[0], f"{path}: array {name!r} of shape {shape}",
                        "save a part of the images")
            check_limit("max_image_values", math.prod(shape[1:]),
                        f"{path}: array {name!r}: images of shape {shape[1:]}",
                        "shrink the images first")


def load_images(path: PathLike) -> ImageSet:
    """A user's images: a directory of PNGs or an ``.npz`` file (see the module docstring).

    Returns
    -------
    ImageSet
        ``(images uint8 (N, C, H, W), labels int64 (N,) or None, classes or None, source)``.
    """
    p = Path(path)
    if p.is_dir():
        return load_png_dir(p)
    if p.suffix.lower() == ".npz":
        return load_npz_images(p)
    if not p.exists():
        raise DataError(f"{p}: no such file or directory (give a directory of PNG files or an "
                        ".npz file)")
    raise DataError(f"{p}: not a directory of PNG files or an .npz file")


# --------------------------------------------------------------------------- splits
def holdout_split(n: int, fraction: float = VALID_FRACTION, seed: int = SPLIT_SEED
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """``(train, valid)`` row indices: ``max(1, floor(n * fraction))`` rows chosen by a
    permutation seeded with ``seed`` are held out; both index lists are in increasing order.

    Raises
    ------
    DataError
        Fewer than 2 rows (nothing would be left on one side).
    """
    n = int(n)
    if n < 2:
        raise DataError(f"{n} image(s): at least 2 are needed to hold some out for validation")
    if not 0 < fraction < 1:
        raise DataError(f"the validation fraction must lie strictly between 0 and 1, got {fraction}")
    n_valid = min(n - 1, max(1, int(n * fraction)))
    perm = np.random.default_rng(int(seed)).permutation(n)
    return np.sort(perm[n_valid:]), np.sort(perm[:n_valid])
