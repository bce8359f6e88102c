from __future__ import annotations

import hashlib
from typing import Any

from core import clock
from core.audit import audit_record
from core.canonical import canonical_json
from market.models import Notice, Tender


def notice_publish(
    *, tender: Tender, kind: str, title: str, body: str, data: dict[str, Any] | None = None, actor: Any = None
) -> Notice:
    """Publish an immutable notice for ``tender`` (call inside the transaction that caused it)."""
    published_at = clock.now()
    data = data or {}
    content = {
        "tender": tender.reference,
        "kind": kind,
        "title": title,
        "body": body,
        "data": data,
        "published_at": published_at,
    }
    notice = Notice.objects.create(
        tender=tender,
        kind=kind,
        title=title,
        body=body,
        data=data,
        published_at=published_at,
        content_hash=hashlib.sha256(canonical_json(content)).hexdigest(),
    )
    audit_record(
        actor=actor,
        action=f"notice.publish.{kind}",
        obj=notice,
        after={"tender": tender.reference, "title": title, "content_hash": notice.content_hash},
    )
    return notice
