from agencies.models import CreditEvent
from bidding.models import Bid, CommitteeScore, EvaluationRecord
from core.models import AuditEntry
from market.models import Notice, Objection, Tender


def world_state(tender_id: int | None = None) -> dict:
    """Everything a refused request must leave as it was."""
    state = {
        "audit": AuditEntry.objects.count(),
        "notices": Notice.objects.count(),
        "objections": Objection.objects.count(),
        "tenders": Tender.objects.count(),
        "bids": sorted(Bid.objects.values_list("pk", "status", "result_reason")),
        "score_sheets": CommitteeScore.objects.count(),
        "evaluation_records": EvaluationRecord.objects.count(),
        "credit_events": CreditEvent.objects.count(),
    }
    if tender_id is not None:
        t = Tender.objects.get(pk=tender_id)
        state["tender"] = {f.attname: getattr(t, f.attname) for f in Tender._meta.concrete_fields}
    return state
