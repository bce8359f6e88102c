"""Content-addressed file storage under the media root, safe against crashes.

An upload is spooled to a temporary file (hashed as it streams, fsynced), then renamed into
``<prefix>/<sha[:2]>/<sha>`` inside the caller's transaction. If the transaction fails, the caller
removes a file it created; a file that existed before is shared and left alone. A crash between
the rename and the commit can leave an unreferenced file, never a row without its file.

What a killed process leaves behind (a spool file, a placed file whose row never committed) is removed by
:func:`collect` (``manage.py storage_gc``), only once older than a safe age: each app that stores files
registers its prefix and the question "which of these digests do your rows use?" with :func:`register`.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.conf import settings

from core.errors import ApplicationError

CHUNK = 1024 * 1024
SPOOL_PREFIX = ".upload-"
_DIGEST = re.compile(r"[0-9a-f]{64}")


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
    fd, tmp = tempfile.mkstemp(dir=root, prefix=SPOOL_PREFIX)
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
        # Shared from now on: a fresh time tells storage_gc that a transaction may be about to use it.
        os.utime(final)
        return False
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(spool.path, final)
    _fsync_dir(final.parent)
    return True


def discard(prefix: str, sha256: str) -> None:
    stored_path(prefix, sha256).unlink(missing_ok=True)


# prefix -> which of the given digests the owning app's rows use (committed rows only: the collector's age
# threshold covers transactions still running).
_OWNERS: dict[str, Callable[[set[str]], set[str]]] = {}
_BATCH = 500


def register(prefix: str, in_use: Callable[[set[str]], set[str]]) -> None:
    """Declare a storage prefix and its owner's question; called from the owning app's ``ready()``."""
    _OWNERS[prefix] = in_use


@dataclass
class Garbage:
    """What :func:`collect` found (and removed unless it was a dry run)."""

    spools: list[tuple[str, int]] = field(default_factory=list)  # (relative name, size)
    orphans: list[tuple[str, int]] = field(default_factory=list)
    young: int = 0  # younger than the safe age: not examined, left alone
    unknown: list[str] = field(default_factory=list)  # names that are not a content address: never touched

    @property
    def files(self) -> list[tuple[str, int]]:
        return self.spools + self.orphans

    @property
    def size(self) -> int:
        return sum(size for _, size in self.files)


def _old(path: Path, cutoff: float) -> os.stat_result | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat if stat.st_mtime < cutoff else None


def _addressed(root: Path, prefix: str) -> Iterable[Path]:
    base = root / prefix
    if not base.is_dir():
        return
    for shard in sorted(base.iterdir()):
        if shard.is_dir():
            yield from sorted(shard.iterdir())
        else:
            yield shard


def collect(*, older_than: float, delete: bool) -> Garbage:
    """Find (and with ``delete`` remove) spool files of killed uploads and stored files no row uses, both only
    when last modified more than ``older_than`` seconds ago (wall time, as the file system keeps it)."""
    root = Path(settings.MEDIA_ROOT)
    found = Garbage()
    if not root.is_dir():
        return found
    cutoff = time.time() - older_than

    def remove(path: Path) -> bool:
        # Checked again just before: a file touched since it was listed (place() shares it) stays.
        if not delete:
            return True
        if _old(path, cutoff) is None:
            return False
        path.unlink(missing_ok=True)
        return True

    for spool in sorted(root.glob(SPOOL_PREFIX + "*")):
        stat = _old(spool, cutoff)
        if stat is None:
            found.young += 1
        elif remove(spool):
            found.spools.append((spool.name, stat.st_size))
    for prefix, in_use in sorted(_OWNERS.items()):
        candidates: dict[str, tuple[Path, int]] = {}
        for path in _addressed(root, prefix):
            if not (_DIGEST.fullmatch(path.name) and path.parent.name == path.name[:2]):
                found.unknown.append(str(path.relative_to(root)))
                continue
            stat = _old(path, cutoff)
            if stat is None:
                found.young += 1
            else:
                candidates[path.name] = (path, stat.st_size)
        names = sorted(candidates)
        used: set[str] = set()
        for start in range(0, len(names), _BATCH):
            used |= in_use(set(names[start : start + _BATCH]))
        for name in names:
            if name in used:
                continue
            path, size = candidates[name]
            if remove(path):
                found.orphans.append((relative_name(prefix, name), size))
            else:
                found.young += 1
    return found
