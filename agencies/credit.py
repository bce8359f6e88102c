"""Credit arithmetic and the red-list rule: reads only.

Score at a moment = the policy's base + the points of every event that counts at that moment
(occurred, not yet expired, not annulled). Everything takes ``at`` so a score can be asked for
any past moment, the way a supervisor reconstructs a decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from agencies.choices import DECIDED_LIST_STATUSES, CreditList, EvaluationStatus
from agencies.models import Agency, CreditEvent, CreditListEntry, CreditPolicy, ServiceEvaluation


def policy() -> CreditPolicy:
    """The credit policy row (created by migration; recreated with defaults if someone removed it)."""
    row, _ = CreditPolicy.objects.get_or_create(
        pk=1,
        defaults={
            "red_incentives": ["badge", "bond_waiver"],
            "black_restricted_actions": ["register", "bid", "be_drawn"],
        },
    )
    return row


def counting_events_q(at: datetime, prefix: str = "") -> Q:
    """Events that count towards the score at ``at``."""
    p = prefix
    return Q(**{f"{p}occurred_at__lte": at, f"{p}expires_at__gt": at}) & (
        Q(**{f"{p}annulled_at__isnull": True}) | Q(**{f"{p}annulled_at__gt": at})
    )


def in_force_q(at: datetime, prefix: str = "") -> Q:
    """List entries in force at ``at``, read from their dates, not from the stored status."""
    p = prefix
    return (
        Q(**{f"{p}status__in": DECIDED_LIST_STATUSES})
        & Q(**{f"{p}starts_at__lte": at, f"{p}ends_at__gt": at})
        & (Q(**{f"{p}revoked_at__isnull": True}) | Q(**{f"{p}revoked_at__gt": at}))
    )


def agency_score(agency: Agency, at: datetime) -> int:
    points = CreditEvent.objects.filter(counting_events_q(at), agency=agency).aggregate(total=Sum("points"))["total"]
    return policy().base_score + int(points or 0)


def with_credit(agencies: QuerySet[Agency], at: datetime) -> QuerySet[Agency]:
    """Annotate ``score``, ``on_black_list`` and ``on_red_list`` at ``at`` in the same query."""
    points = (
        CreditEvent.objects.filter(counting_events_q(at), agency=OuterRef("pk"))
        .order_by()
        .values("agency")
        .annotate(total=Sum("points"))
        .values("total")
    )
    entries = CreditListEntry.objects.filter(in_force_q(at), agency=OuterRef("pk"))
    return agencies.annotate(
        score=Value(policy().base_score) + Coalesce(Subquery(points, output_field=IntegerField()), Value(0)),
        on_black_list=Exists(entries.filter(list_kind=CreditList.BLACK)),
        on_red_list=Exists(entries.filter(list_kind=CreditList.RED)),
    )


@dataclass(frozen=True)
class RedRuleResult:
    holds: bool
    score: int
    evaluations: int
    bad_events: int

    def explain(self) -> str:
        return f"信用分 {self.score}，近期服务评价 {self.evaluations} 次，不良记录 {self.bad_events} 条"


def red_rule(agency: Agency, at: datetime) -> RedRuleResult:
    """DOMAIN.md's red-list rule: score at least the threshold, enough approved evaluations in the
    look-back window, and no bad event in it."""
    rules = policy()
    since = at - timedelta(days=rules.red_lookback_days)
    score = agency_score(agency, at)
    evaluations = ServiceEvaluation.objects.filter(
        agency=agency, status=EvaluationStatus.APPROVED, submitted_at__gt=since, submitted_at__lte=at
    ).count()
    bad = CreditEvent.objects.filter(
        Q(annulled_at__isnull=True) | Q(annulled_at__gt=at),
        agency=agency,
        points__lt=0,
        occurred_at__gt=since,
        occurred_at__lte=at,
    ).count()
    holds = score >= rules.red_min_score and evaluations >= rules.red_min_evaluations and bad == 0
    return RedRuleResult(holds, score, evaluations, bad)


def evaluation_average_kind(average: float) -> str:
    """The credit-event kind an approved evaluation with this average becomes."""
    rules = policy()
    if average >= float(rules.good_evaluation_min_average):
        return "good_service_evaluation"
    if average <= float(rules.poor_evaluation_max_average):
        return "poor_service_evaluation"
    return "fair_service_evaluation"
