"""Real image data sets: find IDX files locally first, verify them, split train/validation/test.

Search order for a data set ``name``: an explicit ``data_dir``, ``$LOTTERY_KIT_DATA/<name>``, the user
cache (``$XDG_CACHE_HOME/lottery-kit/<name>``), ``/usr/share/datasets/<name>`` (Debian's
``dataset-fashion-mnist`` installs there), then a download from the canonical source into the cache.

Integrity: every file is verified before it is used, wherever it was found. A ``.gz`` passes when its bytes are
the published archive (SHA-256 pinned for each data set, as torchvision and TensorFlow Datasets pin them); any file
passes when its IDX payload (after gunzip) has the pinned payload SHA-256, which is known for Fashion-MNIST, so that
re-compressed copies such as Debian's verify too. Anything else is refused, as is a file that cannot be read, with
its path and what to do. Downloads check the publisher's MD5 as well.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import urllib.request
import zlib
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
    archive_sha256: dict[str, str]  # SHA-256 of each published .gz
    payload_sha256: dict[str, str]  # SHA-256 of each decompressed IDX file, where pinned


SOURCES = {
    "mnist": Source(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        dict(zip(FILES, ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                         "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"))),
        dict(zip(FILES, ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                         "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                         "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                         "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"))),
        {},
    ),
    "fmnist": Source(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        dict(zip(FILES, ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                         "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"))),
        dict(zip(FILES, ("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                         "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                         "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                         "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"))),
        {},  # filled below from _payload_hashes
    ),
    "kmnist": Source(
        "http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
        dict(zip(FILES, ("bdb82020997e1d708af4cf47b453dcf7", "e144d726b3acfaa3e44228e80efcd344",
                         "5c965bf0a639b31b8f53240b1b52f4d7", "7320c461ea6c1c855c0b718fb2a4b134"))),
        dict(zip(FILES, ("51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
                         "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
                         "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
                         "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c"))),
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
    path = Path(path)
    return _parsed(path, _read_payload(path, _read_bytes(path)))


def _replace_hint(path: Path) -> str:
    if str(path).startswith("/usr/share/datasets"):
        return "reinstall Debian's dataset-fashion-mnist (apt-get install --reinstall dataset-fashion-mnist)"
    return f"delete {path} (a download fetches it again) or replace it with the publisher's file"


def _unreadable(path: Path, err: Exception) -> DataIntegrityError:
    return DataIntegrityError(f"cannot read data file {path} ({type(err).__name__}: {str(err)[:200]}); the file is "
                              f"damaged or no IDX file: {_replace_hint(path)}")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise _unreadable(path, err) from None


def _read_payload(path: Path, blob: bytes) -> bytes:
    """The IDX payload of a file's bytes (gunzipped for ``.gz``)."""
    if path.suffix != ".gz":
        return blob
    try:
        return gzip.decompress(blob)
    except (OSError, EOFError, zlib.error) as err:   # not gzip, truncated, corrupted
        raise _unreadable(path, err) from None


def _parsed(path: Path, payload: bytes) -> np.ndarray:
    try:
        return parse_idx(payload)
    except (ValueError, struct.error) as err:
        raise _unreadable(path, err) from None


def parse_idx(raw: bytes) -> np.ndarray:
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError("not an unsigned-byte IDX file")
    shape = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"IDX payload has {data.size} bytes, header says {shape}")
    return data.reshape(shape)


def verified_payload(name: str, stem: str, path: Path, blob: bytes) -> bytes:
    """The IDX payload of file ``path`` (its bytes ``blob``) once it has passed its checksum: the published archive's
    SHA-256 for a ``.gz``, or the pinned payload SHA-256; else :class:`DataIntegrityError` naming the file."""
    source = SOURCES[name]
    if path.suffix == ".gz" and hashlib.sha256(blob).hexdigest() == source.archive_sha256[stem]:
        return _read_payload(path, blob)
    payload = _read_payload(path, blob)
    digest, pinned = hashlib.sha256(payload).hexdigest(), source.payload_sha256.get(stem)
    if pinned is None:   # only the published archive is pinned: an unpacked or re-compressed copy cannot be verified
        raise DataIntegrityError(
            f"checksum mismatch for {path}: SHA-256 {hashlib.sha256(blob).hexdigest()}, expected the published "
            f"archive's {source.archive_sha256[stem]}; the file is damaged or not the published one (only the "
            f"publisher's {stem}.gz can be verified for {name}): {_replace_hint(path)}")
    if digest != pinned:
        raise DataIntegrityError(f"checksum mismatch for {path}: SHA-256 {digest}, expected {pinned}; the file is "
                                 f"damaged or not the published one: {_replace_hint(path)}")
    return payload


def download(name: str, timeout: float = 30.0) -> Path:
    """Download ``name`` from its canonical source into the cache, checking the publisher's MD5."""
    source, target = SOURCES[name], cache_dir() / name
    for stem in FILES:
        with urllib.request.urlopen(f"{source.url}{stem}.gz", timeout=timeout) as resp:
            blob = resp.read()
        md5 = hashlib.md5(blob).hexdigest()
        if md5 != source.archive_md5[stem]:
            raise ValueError(f"download of {name}/{stem}.gz has MD5 {md5}, expected {source.archive_md5[stem]}")
        verified_payload(name, stem, target / f"{stem}.gz", blob)
        atomic_write_bytes(target / f"{stem}.gz", blob)
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
        arrays[stem] = _parsed(path, verified_payload(name, stem, path, _read_bytes(path)))
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

