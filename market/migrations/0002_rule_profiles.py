"""The national profile (the law's defaults) and the demo profile (the same rules in minutes).

Values are written out here, not imported, so this migration means the same thing forever.
"""

from datetime import timedelta
from decimal import Decimal

from django.db import migrations

MIN_BIDS = {"open_tender": 3, "lowest_price": 3, "optimal_price": 3, "lottery": 3, "direct": 1}

PROFILES = [
    {
        "name": "national",
        "title": "全国默认（法定时限） National defaults",
        "open_tender_min_notice": timedelta(days=20),
        "supermarket_min_notice": timedelta(days=3),
        "supermarket_notice_in_working_days": True,
        "amendment_cutoff": timedelta(days=15),
        "objection_cutoff": timedelta(days=10),
        "objection_reply_period": timedelta(days=3),
        "decryption_window": timedelta(minutes=30),
        "publicity_period": timedelta(days=3),
        "contract_period": timedelta(days=30),
        "min_bids": MIN_BIDS,
        "max_bond_ratio": Decimal("0.02"),
        "lottery_allowed": True,
        "direct_budget_cap": Decimal("300000.00"),
    },
    {
        "name": "demo",
        "title": "演示（分钟计） Demo, in minutes",
        "open_tender_min_notice": timedelta(minutes=5),
        "supermarket_min_notice": timedelta(minutes=3),
        "supermarket_notice_in_working_days": False,
        "amendment_cutoff": timedelta(minutes=3),
        "objection_cutoff": timedelta(minutes=2),
        "objection_reply_period": timedelta(minutes=5),
        "decryption_window": timedelta(minutes=2),
        "publicity_period": timedelta(minutes=3),
        "contract_period": timedelta(minutes=10),
        "min_bids": MIN_BIDS,
        "max_bond_ratio": Decimal("0.02"),
        "lottery_allowed": True,
        "direct_budget_cap": Decimal("300000.00"),
    },
]


def create_profiles(apps, schema_editor):
    RuleProfile = apps.get_model("market", "RuleProfile")
    for values in PROFILES:
        RuleProfile.objects.update_or_create(name=values["name"], defaults=values)


class Migration(migrations.Migration):
    dependencies = [("market", "0001_initial")]
    operations = [migrations.RunPython(create_profiles, migrations.RunPython.noop)]
