"""A tender keeps the rules it was published under: editing a rule profile changes only the
tenders published afterwards (and drafts, which are not bound yet)."""

from datetime import timedelta

import pytest

from core import clock
from core.errors import ApplicationError
from core.models import AuditEntry
from market.choices import TenderStatus as S
from market.models import RuleProfile, Tender
from market.rules import rules_of
from procurement.services.timeline import run_due_steps
from tests.factories import objection_signed, signing_cert
from tests.market.helpers import world_state

OLD_WINDOW, NEW_WINDOW = timedelta(minutes=30), timedelta(hours=2)
OLD_CUTOFF, NEW_CUTOFF = timedelta(days=10), timedelta(days=1)


def _edit_national_profile() -> None:
    """What an operator does in the admin: the jurisdiction's rules change."""
    RuleProfile.objects.filter(name="national").update(decryption_window=NEW_WINDOW, objection_cutoff=NEW_CUTOFF)


@pytest.fixture
def before_and_after(world):
    profile = RuleProfile.objects.get(name="national")
    assert (profile.decryption_window, profile.objection_cutoff) == (OLD_WINDOW, OLD_CUTOFF)
    earlier = world.in_state(S.PUBLISHED)
    draft = world.draft()
    _edit_national_profile()
    later = world.in_state(S.PUBLISHED)
    assert earlier.bid_deadline == later.bid_deadline  # same clock, same data: only the rules differ
    return earlier, draft, later


def test_the_opening_window_is_the_one_in_force_at_publication(world, before_and_after):
    earlier, _, later = before_and_after
    for tender in (earlier, later):
        for agency in world.agencies:
            world.sealed_bid(tender, agency)
    clock.freeze(earlier.bid_deadline)
    run_due_steps()
    earlier, later = Tender.objects.get(pk=earlier.pk), Tender.objects.get(pk=later.pk)
    assert (earlier.status, later.status) == (S.OPENING, S.OPENING)
    assert earlier.opening_ends_at == earlier.bid_deadline + OLD_WINDOW
    assert later.opening_ends_at == later.bid_deadline + NEW_WINDOW


def test_the_objection_cutoff_is_the_one_in_force_at_publication(world, before_and_after):
    earlier, _, later = before_and_after
    clock.freeze(earlier.bid_deadline - timedelta(days=5))  # inside the old cut-off, outside the new
    signing_cert(world.agency)  # the agency's key is certified beforehand
    before = world_state(earlier.pk)
    with pytest.raises(ApplicationError) as refused:
        objection_signed(actor=world.agency, tender_id=earlier.pk, kind="documents", text="资格条件排斥")
    assert refused.value.code == "objection_too_late"
    assert world_state(earlier.pk) == before
    objection_signed(actor=world.agency, tender_id=later.pk, kind="documents", text="资格条件排斥")
    assert Tender.objects.get(pk=later.pk).status == S.SUSPENDED


def test_a_draft_is_not_bound_until_it_is_published(before_and_after):
    _, draft, _ = before_and_after
    draft = Tender.objects.get(pk=draft.pk)
    assert draft.rules_snapshot is None
    assert rules_of(draft).decryption_window == NEW_WINDOW


def test_publication_records_the_rules_in_the_audit_trail(before_and_after):
    earlier, _, later = before_and_after
    recorded = {
        int(e.object_id): e.after["rules"]
        for e in AuditEntry.objects.filter(action="tender.approve", object_id__in=[earlier.pk, later.pk])
    }
    assert recorded[earlier.pk]["decryption_window"] == OLD_WINDOW.total_seconds()
    assert recorded[later.pk]["decryption_window"] == NEW_WINDOW.total_seconds()
    assert recorded[earlier.pk] == Tender.objects.get(pk=earlier.pk).rules_snapshot
