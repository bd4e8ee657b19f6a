"""Writing files so that a reader never sees half of one: a temporary file, then a rename."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: str | Path, content: str | bytes | Callable[[BinaryIO], object]) -> Path:
    """Write text, bytes, or whatever ``content(file)`` writes, to ``path`` in one rename.

    The temporary file sits in the same folder (a rename never crosses filesystems) and is
    removed if writing fails, so an interrupted write leaves the old file or none.
    """
    target = Path(path)
    # Named by process and thread so concurrent writers never share one; open() keeps the umask.
    tmp = target.with_name(f".{target.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            if isinstance(content, str):
                handle.write(content.encode("utf-8"))
            elif isinstance(content, bytes):
                handle.write(content)
            else:
                content(handle)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
