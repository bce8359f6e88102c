"""Tender attachments: streamed to content-addressed storage, the row written in the same
transaction; a failure at any point leaves no row and no new file."""

from __future__ import annotations

import os
from typing import IO

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from accounts.models import User
from core import clock, storage
from core.audit import audit_record
from core.errors import ApplicationError
from core.permissions import Action, require
from market.access import require_own_tender
from market.choices import TenderStatus
from market.locks import lock_tender
from market.models import TenderAttachment

PREFIX = "attachments"


def attachment_add(
    *, actor: User, tender_id: int, name: str, stream: IO[bytes], content_type: str = ""
) -> TenderAttachment:
    """Attach a document to the purchaser's own draft."""
    require(actor, Action.TENDER_EDIT)
    name = os.path.basename((name or "").strip())[:200]
    if not name:
        raise ApplicationError("invalid", "The file needs a name.", "文件须有名称。", fields={"file": ["required"]})
    with storage.spooled(stream, settings.AGORA_ATTACHMENT_MAX_BYTES) as spool:
        created_file = False
        try:
            with transaction.atomic():
                tender = lock_tender(tender_id)
                require_own_tender(actor, tender)
                if tender.status != TenderStatus.DRAFT:
                    raise ApplicationError(
                        "not_a_draft", "Attachments can only be added to a draft.", "只有草稿可以添加附件。", status=409
                    )
                if tender.attachments.filter(sha256=spool.sha256).exists():
                    raise ApplicationError("duplicate", "This file is already attached.", "该文件已上传。", status=409)
                created_file = storage.place(spool, PREFIX)
                attachment = TenderAttachment(
                    tender=tender,
                    name=name,
                    sha256=spool.sha256,
                    size=spool.size,
                    content_type=content_type[:100],
                    uploaded_by=actor,
                    uploaded_at=clock.now(),
                )
                attachment.file.name = default_storage.generate_filename(storage.relative_name(PREFIX, spool.sha256))
                attachment.save()
                audit_record(
                    actor=actor,
                    action="tender.attachment_add",
                    obj=attachment,
                    after={"tender": tender.reference, "name": name, "sha256": spool.sha256, "size": spool.size},
                )
        except BaseException:
            if created_file:
                storage.discard(PREFIX, spool.sha256)
            raise
    return attachment
