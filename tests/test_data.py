"""Real data sets: IDX parsing, search order, checksums, splits."""

import gzip
import struct

import numpy as np
import pytest

from lottery_kit import data
from lottery_kit.store import sha256


def _write_idx(path, array):
    header = struct.pack(">HBB", 0, 8, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def test_parse_idx_roundtrip(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "x.gz", arr)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "x.gz"), arr)


def test_fashion_mnist_from_system_location_is_verified_and_split():
    d = data.load_idx_dataset("fmnist", allow_download=False)
    assert d.x_train.shape == (55000, 28, 28, 1) and d.x_val.shape == (5000, 28, 28, 1)
    assert d.x_test.shape == (10000, 28, 28, 1)
    assert set(np.unique(d.y_test)) == set(range(10))
    # validation is held out of the training set: no image appears in both
    train_rows = {row.tobytes() for row in d.x_train[:, ::4, ::4, 0]}
    assert sum(row.tobytes() in train_rows for row in d.x_val[:500, ::4, ::4, 0]) < 5  # (near-)duplicates only
    assert abs(float(d.x_train.mean())) < 1.0  # normalised


def test_explicit_directory_wins_and_checksums_are_enforced(tmp_path, monkeypatch):
    for stem in data.FILES:
        n = 3
        arr = np.zeros((n, 28, 28)) if "images" in stem else np.arange(n)
        _write_idx(tmp_path / f"{stem}.gz", arr)
    assert data.locate("fmnist", data_dir=tmp_path, allow_download=False) == tmp_path
    with pytest.raises(ValueError, match="checksum mismatch"):  # fmnist payload hashes are pinned
        data.load_idx_dataset("fmnist", data_dir=tmp_path, val_size=1, allow_download=False)
    with pytest.raises(ValueError, match="checksum mismatch.*only the publisher's train-images-idx3-ubyte.gz can be "
                                         "verified for kmnist"):   # K-MNIST pins its published archives
        data.load_idx_dataset("kmnist", data_dir=tmp_path, val_size=1, allow_download=False)


def test_a_published_archive_passes_and_an_unpacked_copy_is_refused(tmp_path, monkeypatch):
    """A .gz whose bytes have the pinned archive SHA-256 is used; the same data unpacked cannot be verified."""
    for stem in data.FILES:
        _write_idx(tmp_path / f"{stem}.gz", np.zeros((3, 28, 28)) if "images" in stem else np.arange(3))
        monkeypatch.setitem(data.SOURCES["mnist"].archive_sha256, stem, sha256(tmp_path / f"{stem}.gz"))
    loaded = data.load_idx_dataset("mnist", data_dir=tmp_path, val_size=1, allow_download=False)
    assert loaded.y_test.tolist() == [0, 1, 2] and loaded.x_train.shape == (2, 28, 28, 1)
    labels = tmp_path / "t10k-labels-idx1-ubyte"
    labels.write_bytes(gzip.decompress((tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(data.DataIntegrityError, match=f"checksum mismatch for {labels}: .*delete {labels}"):
        data.load_idx_dataset("mnist", data_dir=tmp_path, val_size=1, allow_download=False)


def test_missing_data_set_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("LOTTERY_KIT_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError) as err:
        data.locate("kmnist", data_dir=tmp_path / "explicit", allow_download=False)
    msg = str(err.value)
    for where in ("explicit", "env", "cache", "/usr/share/datasets/kmnist"):
        assert where in msg
    assert "IDX" in msg


def test_digits_is_small_and_real():
    d = data.load_digits()
    assert d.x_train.shape[1:] == (28, 28, 1)
    assert len(d.x_train) + len(d.x_val) + len(d.x_test) == 1797
