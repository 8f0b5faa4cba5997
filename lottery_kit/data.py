"""Real image data sets: find IDX files locally first, verify them, split train/validation/test.

Search order for a data set ``name``: an explicit ``data_dir``, ``$LOTTERY_KIT_DATA/<name>``, the user
cache (``$XDG_CACHE_HOME/lottery-kit/<name>``), ``/usr/share/datasets/<name>`` (Debian's
``dataset-fashion-mnist`` installs there), then a download from the canonical source into the cache.

Integrity: each IDX payload (after gunzip, so re-compressed copies such as Debian's still verify) is
checked against a pinned SHA-256 where one is known. For archives whose payload hash is not pinned
the publisher's MD5 of the archive is checked on download and the payload's SHA-256 is recorded in
the cache (``SHA256SUMS``) and verified on every later load.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .store import atomic_write_bytes
from .validate import ConfigError, choice, in_range

class DataIntegrityError(ConfigError):
    """A data file fails its checksum."""


FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@dataclass(frozen=True)
class Source:
    url: str                       # base URL; files are <url><file>.gz
    archive_md5: dict[str, str]    # publisher's MD5 of each .gz, checked on download
    payload_sha256: dict[str, str]  # SHA-256 of each decompressed IDX file, when pinned


SOURCES = {
    "mnist": Source(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        dict(zip(FILES, ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                         "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"))),
        {},
    ),
    "fmnist": Source(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        dict(zip(FILES, ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                         "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"))),
        {},  # filled below from PAYLOAD_SHA256
    ),
    "kmnist": Source(
        "http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
        dict(zip(FILES, ("bdb82020997e1d708af4cf47b453dcf7", "e144d726b3acfaa3e44228e80efcd344",
                         "5c965bf0a639b31b8f53240b1b52f4d7", "7320c461ea6c1c855c0b718fb2a4b134"))),
        {},
    ),
}

#: Directory names under system locations (Debian uses the long name).
SYSTEM_NAMES = {"mnist": "mnist", "fmnist": "fashion-mnist", "kmnist": "kmnist"}
NORMALISATION = (0.1307, 0.3081)


def _payload_hashes() -> dict[str, dict[str, str]]:
    # Measured on the Debian package dataset-fashion-mnist 0.0~git20200523 (identical payload to Zalando's).
    return {"fmnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    }}


for _name, _hashes in _payload_hashes().items():
    SOURCES[_name].payload_sha256.update(_hashes)


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lottery-kit"


def candidate_dirs(name: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Where :func:`load_idx_dataset` looks for ``name``, in order."""
    dirs = []
    if data_dir is not None:
        dirs += [Path(data_dir) / name, Path(data_dir)]
    if os.environ.get("LOTTERY_KIT_DATA"):
        dirs.append(Path(os.environ["LOTTERY_KIT_DATA"]) / name)
    dirs += [cache_dir() / name, Path("/usr/share/datasets") / SYSTEM_NAMES[name]]
    return dirs


def _find_file(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            return candidate
    return None


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (optionally gzipped) into a numpy array."""
    raw = _read_payload(path)
    return parse_idx(raw)


def _read_payload(path: Path) -> bytes:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        return fh.read()


def parse_idx(raw: bytes) -> np.ndarray:
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError("not an unsigned-byte IDX file")
    shape = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"IDX payload has {data.size} bytes, header says {shape}")
    return data.reshape(shape)


def _verify(name: str, stem: str, path: Path, payload: bytes) -> None:
    digest = hashlib.sha256(payload).hexdigest()
    pinned = SOURCES[name].payload_sha256.get(stem) or _recorded_hashes(name).get(stem)
    if pinned and digest != pinned:
        fix = ("reinstall Debian's dataset-fashion-mnist" if str(path).startswith("/usr/share/datasets") else
               f"delete {path} (a download fetches it again) or replace it with the publisher's file")
        raise DataIntegrityError(f"checksum mismatch for {path}: SHA-256 {digest}, expected {pinned}; the file is "
                                 f"damaged or not the published one: {fix}")


def _recorded_hashes(name: str) -> dict[str, str]:
    sums = cache_dir() / name / "SHA256SUMS"
    if not sums.is_file():
        return {}
    return dict(reversed(line.split()) for line in sums.read_text().splitlines() if line.strip())


def download(name: str, timeout: float = 30.0) -> Path:
    """Download ``name`` from its canonical source into the cache, checking the publisher's MD5."""
    source, target = SOURCES[name], cache_dir() / name
    lines = []
    for stem in FILES:
        with urllib.request.urlopen(f"{source.url}{stem}.gz", timeout=timeout) as resp:
            blob = resp.read()
        md5 = hashlib.md5(blob).hexdigest()
        if md5 != source.archive_md5[stem]:
            raise ValueError(f"download of {name}/{stem}.gz has MD5 {md5}, expected {source.archive_md5[stem]}")
        payload = gzip.decompress(blob)
        _verify(name, stem, target / f"{stem}.gz", payload)
        atomic_write_bytes(target / f"{stem}.gz", blob)
        lines.append(f"{hashlib.sha256(payload).hexdigest()}  {stem}")
    atomic_write_bytes(target / "SHA256SUMS", ("\n".join(lines) + "\n").encode())
    return target


def locate(name: str, data_dir=None, allow_download: bool = True) -> Path:
    """Return the first directory holding all four IDX files of ``name`` (downloading if allowed)."""
    choice("vision data set", name, SOURCES)
    looked = candidate_dirs(name, data_dir)
    for d in looked:
        if all(_find_file(d, stem) for stem in FILES):
            return d
    if allow_download and os.environ.get("LOTTERY_KIT_OFFLINE") != "1":
        try:
            return download(name)
        except OSError as err:  # URLError is an OSError
            reason = f"download failed: {err}"
    else:
        reason = "downloads are disabled"
    hint = ("install Debian's package: apt-get install dataset-fashion-mnist" if name == "fmnist"
            else f"put the four IDX .gz files ({', '.join(FILES)}) into one of those directories")
    raise FileNotFoundError(
        f"data set {name!r} not found; looked in: {', '.join(map(str, looked))}; {reason}. To get it, {hint}."
    )


@dataclass(frozen=True)
class ImageData:
    """Normalised NHWC float32 images and int32 labels for train / validation / test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def _normalise(images: np.ndarray) -> np.ndarray:
    mean, std = NORMALISATION
    return ((images.astype(np.float32) / 255.0 - mean) / std)[..., None]


def split_train_val(x, y, val_size: int, seed: int = 0):
    """Hold out ``val_size`` examples of the training set (a fixed, seeded permutation)."""
    perm = np.random.default_rng(seed).permutation(len(x))
    val, train = perm[:val_size], perm[val_size:]
    return x[train], y[train], x[val], y[val]


def load_idx_dataset(name: str, data_dir=None, val_size: int = 5000, allow_download: bool = True) -> ImageData:
    """Load MNIST / Fashion-MNIST / K-MNIST with a held-out validation split of the training set."""
    directory = locate(name, data_dir, allow_download)
    arrays = {}
    for stem in FILES:
        path = _find_file(directory, stem)
        payload = _read_payload(path)
        _verify(name, stem, path, payload)
        arrays[stem] = parse_idx(payload)
    x, y = _normalise(arrays[FILES[0]]), arrays[FILES[1]].astype(np.int32)
    in_range("val_size", val_size, low=0, high=len(x) - 1)
    return ImageData(*split_train_val(x, y, val_size), _normalise(arrays[FILES[2]]), arrays[FILES[3]].astype(np.int32))


def load_digits(val_size: int = 300, test_size: int = 400) -> ImageData:
    """scikit-learn's bundled 8x8 digits (1,797 images), padded to 28x28 for the paper's CNN."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    images = (bunch.images / 16.0 * 255.0).astype(np.uint8)
    images = np.pad(np.kron(images, np.ones((3, 3), np.uint8)), ((0, 0), (2, 2), (2, 2)))  # 8x8 -> 24x24 -> 28x28
    x, y = _normalise(images), bunch.target.astype(np.int32)
    perm = np.random.default_rng(0).permutation(len(x))
    test, rest = perm[:test_size], perm[test_size:]
    return ImageData(*split_train_val(x[rest], y[rest], val_size), x[test], y[test])

