"""MNIST and Fashion-MNIST, found locally first and downloaded only as a last resort.

Where the files are looked for, in order (see :func:`data_dirs`):

1. the ``data_dir`` argument;
2. the environment variable ``EDGELEARN_DATA_DIR``;
3. ``<repo root>/../shared/datasets`` and ``<cwd>/../shared/datasets``;
4. for Fashion-MNIST, ``/usr/share/datasets/fashion-mnist`` (Debian package ``dataset-fashion-mnist``);
5. the download cache (``EDGELEARN_CACHE_DIR`` or ``~/.cache/edgelearn``).

Inside a data directory ``D`` the files may sit in ``D/<name>/``, in torchvision's ``D/MNIST/raw/`` or
``D/FashionMNIST/raw/``, or directly in ``D`` (explicit ``data_dir`` only), gzipped or not. If none of
these hold the split, torchvision downloads it into the cache (needs internet).

Offline, only the 10,000 MNIST *test* images exist; :func:`train_val_split` then draws both parts from
the test set and says so in the returned datasets' ``split`` and ``source``.
"""

from __future__ import annotations

import functools
import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

NAMES = ("mnist", "fashion-mnist")
SPLITS = ("train", "test")
_ALIASES = {
    "mnist": "mnist",
    "fashion-mnist": "fashion-mnist",
    "fashion_mnist": "fashion-mnist",
    "fashionmnist": "fashion-mnist",
}
_STATS = {"mnist": (0.1307, 0.3081), "fashion-mnist": (0.2860, 0.3530)}  # mean, std of the train pixels
_TORCHVISION_FOLDER = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
_FILE_PREFIX = {"train": "train", "test": "t10k"}
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataUnavailableError(FileNotFoundError):
    """The requested data set split is neither on disk nor downloadable."""


@dataclass(frozen=True, eq=False)  # eq=False: tensors have no truth value; identity equality instead
class ImageDataset:
    """A split of 28x28 grey-scale images with integer labels, and where it came from."""

    name: str  # "mnist" | "fashion-mnist"
    split: str  # "train" | "test", or e.g. "test[train-part]" for a subset
    images: torch.Tensor  # uint8, (N, 28, 28)
    labels: torch.Tensor  # int64, (N,)
    source: str  # folder/file read, or "torchvision download (<root>)"
    indices: torch.Tensor | None = None  # positions in the parent split, for subsets

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def as_float(self, normalize: bool = True) -> torch.Tensor:
        """Images as float32 (N, 1, 28, 28) in [0, 1], standardised with the data set's mean/std."""
        x = self.images.unsqueeze(1).to(torch.float32) / 255.0
        if normalize:
            mean, std = _STATS[self.name]
            x = (x - mean) / std
        return x


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a read-only numpy array; cached per file."""
    stat = os.stat(path)
    return _read_idx_cached(os.path.abspath(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _read_idx_cached(path: str, mtime_ns: int, size: int) -> np.ndarray:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise ValueError(
                f"{path} is a corrupt or truncated gzip file ({err}): delete it and "
                "install or download the data set again"
            ) from err
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (magic {raw[:4].hex()})")
    ndim = raw[3]
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path} is truncated: its IDX header promises {ndim} dimensions")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = 4 + 4 * ndim + int(np.prod(shape)) * dtype.itemsize
    if len(raw) < expected:
        raise ValueError(
            f"{path} is truncated or corrupt: {len(raw):,} bytes where its header "
            f"(shape {shape}) needs {expected:,}; delete it and install or download the data set again"
        )
    return np.frombuffer(raw, dtype=dtype, count=int(np.prod(shape)), offset=4 + 4 * ndim).reshape(shape)


def _canonical(name: str, split: str) -> str:
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in _ALIASES:
        raise ValueError(f"name must be one of {list(NAMES)} (aliases: {sorted(_ALIASES)}); got {name!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}; got {split!r}")
    return _ALIASES[key]


def _repo_root() -> Path | None:
    """The nearest folder above this file that holds pyproject.toml (None for a plain install)."""
    return next((p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file()), None)


def _shared_dirs() -> list[Path]:
    """The project's shared data folder, next to the repository (and next to the working directory)."""
    root = _repo_root()
    near_repo = [root.parent / "shared" / "datasets"] if root else []
    return near_repo + [Path.cwd().parent / "shared" / "datasets"]


def _cache_dir() -> Path:
    return Path(os.environ.get("EDGELEARN_CACHE_DIR") or Path.home() / ".cache" / "edgelearn")


def data_dirs(data_dir: str | os.PathLike | None = None, *, name: str | None = None) -> list[Path]:
    """Candidate data directories in search order (they need not exist).

    The Debian Fashion-MNIST folder is included unless ``name`` names another data set.
    """
    dirs = [Path(data_dir)] if data_dir is not None else []
    if os.environ.get("EDGELEARN_DATA_DIR"):
        dirs.append(Path(os.environ["EDGELEARN_DATA_DIR"]))
    dirs += _shared_dirs()
    if name is None or _canonical(name, "test") == "fashion-mnist":
        dirs.append(DEBIAN_FASHION_MNIST_DIR)
    dirs.append(_cache_dir())
    unique: dict[str, Path] = {}
    for d in dirs:
        unique.setdefault(os.path.abspath(d), Path(os.path.abspath(d)))
    return list(unique.values())


def _folders(name: str, data_dir: str | os.PathLike | None) -> list[Path]:
    """Concrete folders that may hold the IDX files of ``name``."""
    debian = DEBIAN_FASHION_MNIST_DIR if name == "fashion-mnist" else None
    bare = {os.path.abspath(d) for d in (data_dir, debian) if d is not None}  # may hold the files directly
    out: list[Path] = []
    for d in data_dirs(data_dir, name=name):
        out += [d / a for a, n in _ALIASES.items() if n == name] + [d / _TORCHVISION_FOLDER[name] / "raw"]
        out += [d] if str(d) in bare else []
    return out


def _find(folder: Path, stem: str) -> Path | None:
    return next((p for p in (folder / f"{stem}.gz", folder / stem) if p.is_file()), None)


def load_dataset(
    name: str, split: str = "test", data_dir: str | os.PathLike | None = None, download: bool | None = None
) -> ImageDataset:
    """Load one split of ``"mnist"`` or ``"fashion-mnist"`` from disk, else download it via torchvision.

    ``download=False`` never touches the network; ``None`` and ``True`` download into the cache
    (``EDGELEARN_CACHE_DIR`` or ``~/.cache/edgelearn``) when no local copy is found.
    Raises :class:`DataUnavailableError` listing every place searched when both fail.
    """
    name = _canonical(name, split)
    if data_dir is not None and not Path(data_dir).is_dir():
        raise DataUnavailableError(
            f"data_dir={str(data_dir)!r} is not a folder: pass a folder holding the "
            f"{name} IDX files, or data_dir=None to search the default places"
        )
    stems = [f"{_FILE_PREFIX[split]}-{kind}-idx{nd}-ubyte" for kind, nd in (("images", 3), ("labels", 1))]
    searched = []
    for folder in _folders(name, data_dir):
        files = [_find(folder, s) for s in stems]
        if all(files):
            images, labels = read_idx(files[0]), read_idx(files[1])
            if images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
                raise ValueError(f"{folder}: images {images.shape} and labels {labels.shape} do not match")
            return ImageDataset(
                name,
                split,
                torch.from_numpy(images.copy()),
                torch.from_numpy(labels.astype(np.int64)),
                source=str(folder),
            )
        missing = [f"{s}[.gz]" for s, f in zip(stems, files) if f is None]
        state = f"missing {', '.join(missing)}" if folder.is_dir() else "no such folder"
        searched.append(f"  {folder}  ({state})")
    reason = "not attempted (download=False)"
    if download is not False:
        root = _cache_dir()
        try:
            import torchvision.datasets as tvd

            cls = tvd.MNIST if name == "mnist" else tvd.FashionMNIST
            ds = cls(str(root), train=(split == "train"), download=True)
            return ImageDataset(
                name,
                split,
                ds.data.to(torch.uint8),
                ds.targets.to(torch.int64),
                source=f"torchvision download ({root})",
            )
        except Exception as exc:  # offline, blocked, corrupt: report it below
            reason = f"torchvision download into {root} failed: {type(exc).__name__}: {str(exc).strip()}"
    hints = [
        "set EDGELEARN_DATA_DIR or pass data_dir= to a folder holding the IDX files",
        "go online so that torchvision can download the data set (download=True)",
    ]
    if name == "fashion-mnist":
        hints.insert(1, "install the Debian package: apt-get install -y dataset-fashion-mnist")
    if name == "mnist" and split == "train":
        hints.append(
            "only the 10k test set is available offline; use train_val_split(...), which draws both from the test set"
        )
    raise DataUnavailableError(
        f"{name} {split} split not found. Searched:\n"
        + "\n".join(searched)
        + f"\nDownload: {reason}\nTo fix:\n"
        + "\n".join(f"  - {h}" for h in hints)
    )


def train_val_split(
    name: str,
    n_train: int,
    n_val: int,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    download: bool | None = None,
) -> tuple[ImageDataset, ImageDataset]:
    """Disjoint random train/validation subsets (like the TRL-HPO paper's 20,000/10,000 of 60,000).

    Both come from the train split when it is available, otherwise (offline MNIST) from the test split,
    which the returned ``split`` ("test[train-part]") and ``source`` record. Deterministic per ``seed``.
    """
    for arg, value in (("n_train", n_train), ("n_val", n_val)):
        if int(value) <= 0:
            raise ValueError(f"{arg} must be a positive integer; got {value!r}")
    try:
        base, note = load_dataset(name, "train", data_dir, download), "the train split"
    except DataUnavailableError:
        base = load_dataset(name, "test", data_dir, download)
        note = f"the {len(base):,}-image test set because the training images are unavailable offline"
    if n_train + n_val > len(base):
        raise ValueError(
            f"n_train + n_val = {n_train + n_val} exceeds the {len(base)} images available in {base.name} {base.split}"
        )
    perm = torch.randperm(len(base), generator=torch.Generator().manual_seed(seed))

    def subset(part: str, idx: torch.Tensor) -> ImageDataset:
        source = f"{len(idx):,} images (seed {seed}) drawn from {note}; read from {base.source}"
        return ImageDataset(
            base.name, f"{base.split}[{part}]", base.images[idx], base.labels[idx], source=source, indices=idx
        )

    return subset("train-part", perm[:n_train]), subset("val-part", perm[n_train : n_train + n_val])
