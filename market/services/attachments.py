"""Tender attachments: streamed to content-addressed storage, the row written in the same
transaction; a failure at any point leaves no row and no new file."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from core import clock
from core.audit import audit_record
from core.errors import ApplicationError
from core.permissions import Action, require
from market.choices import TenderStatus
from market.locks import lock_tender
from market.models import TenderAttachment, User
from market.services.tenders import _require_own

CHUNK = 1024 * 1024


def _spool(stream: IO[bytes], limit: int) -> tuple[str, str, int]:
    """Copy the upload to a temporary file beside the media root, hashing as it goes."""
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
                        f"Attachments are limited to {limit} bytes.",
                        f"附件不得超过 {limit} 字节。",
                        status=413,
                    )
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp, digest.hexdigest(), size


def attachment_add(
    *, actor: User, tender_id: int, name: str, stream: IO[bytes], content_type: str = ""
) -> TenderAttachment:
    """Attach a document to the purchaser's own draft."""
    require(actor, Action.TENDER_EDIT)
    name = os.path.basename((name or "").strip())[:200]
    if not name:
        raise ApplicationError("invalid", "The file needs a name.", "文件须有名称。", fields={"file": ["required"]})
    tmp, sha256, size = _spool(stream, settings.AGORA_ATTACHMENT_MAX_BYTES)
    final_path = Path(settings.MEDIA_ROOT) / "attachments" / sha256[:2] / sha256
    created_file = False
    try:
        with transaction.atomic():
            tender = lock_tender(tender_id)
            _require_own(actor, tender)
            if tender.status != TenderStatus.DRAFT:
                raise ApplicationError(
                    "not_a_draft", "Attachments can only be added to a draft.", "只有草稿可以添加附件。", status=409
                )
            if tender.attachments.filter(sha256=sha256).exists():
                raise ApplicationError("duplicate", "This file is already attached.", "该文件已上传。", status=409)
            if not final_path.exists():
                final_path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, final_path)
                created_file = True
                dir_fd = os.open(final_path.parent, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
            attachment = TenderAttachment(
                tender=tender,
                name=name,
                sha256=sha256,
                size=size,
                content_type=content_type[:100],
                uploaded_by=actor,
                uploaded_at=clock.now(),
            )
            attachment.file.name = default_storage.generate_filename(f"attachments/{sha256[:2]}/{sha256}")
            attachment.save()
            audit_record(
                actor=actor,
                action="tender.attachment_add",
                obj=attachment,
                after={"tender": tender.reference, "name": name, "sha256": sha256, "size": size},
            )
    except BaseException:
        if created_file:
            final_path.unlink(missing_ok=True)
        raise
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return attachment
