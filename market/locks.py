"""Row locks, taken in one place and one order (tender before anything that belongs to it)."""

from __future__ import annotations

from core.errors import NotFound
from market.models import Tender


def lock_tender(tender_id: int) -> Tender:
    """Lock the tender row for the rest of the transaction (``SELECT … FOR UPDATE``).

    On SQLite the IMMEDIATE transaction mode already holds the database's write lock, which
    serialises writers the same way.
    """
    try:
        return Tender.objects.select_for_update().select_related("profile", "purchaser").get(pk=tender_id)
    except Tender.DoesNotExist:
        raise NotFound("No such tender.", "招标项目不存在。") from None
