"""The credit table's defaults (DOMAIN.md, Credit) and the single credit-policy row.

Points and validity periods are the platform's defaults where DOMAIN.md names the kind but not
the number; a jurisdiction edits them in the admin. Black-list durations follow the law's ranges.
"""

from django.db import migrations

# code, English name, Chinese name, points, days it counts, serious, black years (min, max)
KINDS = [
    ("award_completed_on_time", "Contract completed on time", "按期履约完成", 2, 365, False, None),
    ("good_service_evaluation", "Good service evaluation", "服务评价优良", 3, 365, False, None),
    ("fair_service_evaluation", "Fair service evaluation", "服务评价一般", 0, 365, False, None),
    ("commendation", "Commendation", "表彰奖励", 5, 730, False, None),
    ("late_contract", "Contract signed late", "未按时签订合同", -3, 365, False, None),
    ("poor_service_evaluation", "Poor service evaluation", "服务评价较差", -3, 365, False, None),
    ("malicious_objection", "Groundless and malicious objection", "恶意异议投诉", -5, 365, False, None),
    ("refused_to_sign", "Refused to sign after award", "中标后拒签合同", -10, 730, False, None),
    ("false_materials", "False materials", "提供虚假材料", -20, 1095, True, (1, 3)),
    ("fraud", "Fraud to win a tender", "弄虚作假骗取中标", -30, 1095, True, (1, 3)),
    ("collusion", "Collusion", "串通投标", -30, 1095, True, (1, 3)),
    ("bribery", "Bribery", "行贿", -30, 1095, True, (1, 3)),
    ("contract_nonperformance", "Not performing a contract", "不履行合同", -20, 1825, True, (2, 5)),
    ("gp_misconduct", "Government-procurement misconduct", "政府采购严重违法失信", -20, 1095, True, (1, 3)),
]


def load(apps, schema_editor):
    Kind = apps.get_model("agencies", "CreditEventKind")
    Policy = apps.get_model("agencies", "CreditPolicy")
    for code, name, name_zh, points, days, serious, years in KINDS:
        Kind.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "name_zh": name_zh,
                "points": points,
                "validity_days": days,
                "serious": serious,
                "black_min_years": years[0] if years else None,
                "black_max_years": years[1] if years else None,
            },
        )
    Policy.objects.get_or_create(
        pk=1,
        defaults={"red_incentives": ["badge", "bond_waiver"], "black_restricted_actions": ["register", "bid", "be_drawn"]},
    )


class Migration(migrations.Migration):
    dependencies = [("agencies", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
