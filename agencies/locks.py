"""Row locks for agencies, in the platform's one order: tender first, then agency, then what
belongs to the agency (credit list entries, certificates)."""

from __future__ import annotations

from agencies.models import Agency, CreditListEntry
from core.errors import NotFound


def lock_agency(agency_id: int) -> Agency:
    """Lock the agency row for the rest of the transaction (``SELECT … FOR UPDATE``)."""
    try:
        return Agency.objects.select_for_update().select_related("organisation").get(pk=agency_id)
    except Agency.DoesNotExist:
        raise NotFound("No such agency.", "中介机构不存在。") from None


def lock_list_entry(entry_id: int) -> CreditListEntry:
    """Lock a credit-list entry and, before it, its agency (the order every writer uses)."""
    try:
        agency_id = CreditListEntry.objects.values_list("agency_id", flat=True).get(pk=entry_id)
    except CreditListEntry.DoesNotExist:
        raise NotFound("No such credit list entry.", "信用名单条目不存在。") from None
    lock_agency(agency_id)
    return CreditListEntry.objects.select_for_update().select_related("agency__organisation").get(pk=entry_id)
