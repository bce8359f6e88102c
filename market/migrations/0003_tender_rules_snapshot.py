"""Tenders keep the rule values they were published under (``Tender.rules_snapshot``).

Tenders already published get their profile's values as they are now: the best record there is.
The field list and encoding are written out here, not imported, so this migration means the same
thing forever (``market.rules.rules_to_json`` writes the same form).
"""

from datetime import timedelta
from decimal import Decimal

from django.db import migrations, models

FIELDS = (
    "name",
    "open_tender_min_notice",
    "supermarket_min_notice",
    "supermarket_notice_in_working_days",
    "amendment_cutoff",
    "objection_cutoff",
    "objection_reply_period",
    "decryption_window",
    "publicity_period",
    "contract_period",
    "min_bids",
    "max_bond_ratio",
    "lottery_allowed",
    "direct_budget_cap",
    "committee_min_members",
)


def _encode(value):
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    return value


def snapshot_published(apps, schema_editor):
    Tender = apps.get_model("market", "Tender")
    for tender in Tender.objects.filter(published_at__isnull=False, rules_snapshot__isnull=True).select_related(
        "profile"
    ):
        tender.rules_snapshot = {name: _encode(getattr(tender.profile, name)) for name in FIELDS}
        tender.save(update_fields=["rules_snapshot"])


class Migration(migrations.Migration):
    dependencies = [("market", "0002_rule_profiles")]

    operations = [
        migrations.AddField(
            model_name="tender",
            name="rules_snapshot",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(snapshot_published, migrations.RunPython.noop),
    ]
