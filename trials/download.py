"""Fetch the IDX training files from public mirrors, verified by MD5 and written atomically."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import BinaryIO

from trials.errors import DataError
from trials.files import write_atomic

TRAIN_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")

# Tried in order; tests point these at a local server.
MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    "fashion_mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
}

# MD5 of the .gz files, as in torchvision.datasets.MNIST / FashionMNIST.
CHECKSUMS: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    },
}

TIMEOUT_S = 5.0
_CHUNK = 1 << 20


class DownloadUnavailable(Exception):
    """No mirror could be reached; unlike a checksum mismatch, this allows a fallback."""


def _fetch(url: str, dest: str, md5: str, timeout: float) -> None:
    """Stream url to a temporary file beside dest; rename it into place only if the MD5 matches."""

    def stream(out: BinaryIO) -> None:
        # Raising here (bad checksum, broken connection) deletes the part file: nothing lands.
        digest = hashlib.md5()
        with urllib.request.urlopen(url, timeout=timeout) as response:
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != md5:
            raise DataError(
                f"{url}: MD5 {digest.hexdigest()} does not match the expected {md5}; "
                "the download was deleted"
            )

    write_atomic(dest, stream)


def download_train_files(
    dataset: str, dest_dir: str, mirrors: Sequence[str] | None = None, timeout: float = TIMEOUT_S
) -> str:
    """Download the training images and labels into dest_dir; return the mirror that served them.

    Raises DownloadUnavailable when no mirror answers and DataError on a checksum mismatch.
    """
    mirrors = MIRRORS[dataset] if mirrors is None else tuple(mirrors)
    os.makedirs(dest_dir, exist_ok=True)
    errors: list[str] = []
    for mirror in mirrors:
        try:
            for name in TRAIN_FILES:
                gz = name + ".gz"
                dest = os.path.join(dest_dir, gz)
                if not os.path.exists(dest):
                    _fetch(mirror + gz, dest, CHECKSUMS[dataset][gz], timeout)
            return mirror
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            errors.append(f"{mirror}: {reason}")
    raise DownloadUnavailable("; ".join(errors) or "no mirrors configured")
