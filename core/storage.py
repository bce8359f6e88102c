"""Content-addressed file storage under the media root, safe against crashes.

An upload is spooled to a temporary file (hashed as it streams, fsynced), then renamed into
``<prefix>/<sha[:2]>/<sha>`` inside the caller's transaction. If the transaction fails, the caller
removes a file it created; a file that existed before is shared and left alone. A crash between
the rename and the commit can leave an unreferenced file, never a row without its file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings

from core.errors import ApplicationError

CHUNK = 1024 * 1024


@dataclass
class Spooled:
    path: str
    sha256: str
    size: int


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def spooled(stream: IO[bytes], limit: int) -> Iterator[Spooled]:
    """Copy ``stream`` to a temporary file beside the media root, hashing as it goes; refuse more
    than ``limit`` bytes with a 413. The temporary file is gone when the block ends."""
    root = Path(settings.MEDIA_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ApplicationError(
                        "too_large",
                        f"Files are limited to {limit} bytes.",
                        f"文件不得超过 {limit} 字节。",
                        status=413,
                    )
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        yield Spooled(tmp, digest.hexdigest(), size)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def relative_name(prefix: str, sha256: str) -> str:
    return f"{prefix}/{sha256[:2]}/{sha256}"


def stored_path(prefix: str, sha256: str) -> Path:
    """Where the content with this digest lives under the media root."""
    return Path(settings.MEDIA_ROOT) / relative_name(prefix, sha256)


def place(spool: Spooled, prefix: str) -> bool:
    """Move the spooled file to its content address. Returns True when this call created the file
    (the caller removes it with :func:`discard` if its transaction then fails)."""
    final = stored_path(prefix, spool.sha256)
    if final.exists():
        return False
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(spool.path, final)
    _fsync_dir(final.parent)
    return True


def discard(prefix: str, sha256: str) -> None:
    stored_path(prefix, sha256).unlink(missing_ok=True)
