"""The "operators" group: what a trading centre's staff may do in the admin without being
superusers. ``accounts.services.user_add`` puts every trading-centre user in it.

Seeing: organisations and users, the audit trail, rule profiles, tenders, notices, objections,
attachments, agencies with their qualifications, certificates, credit events, list entries and
service evaluations. Adding and changing: purchasers and supervisory departments and their users
(organisations and users; the admin refuses an operator's edits to agencies, superusers and
permissions), rule profiles (a change binds only tenders published afterwards), credit event kinds
and the credit policy. Deleting: nothing. Bids, key shares, opening records, tokens and groups: no
access at all. Lifecycle steps go through the services, never the admin.

The lists are written out here, not computed, so this migration means the same thing forever.
Permissions are normally made after all migrations (post_migrate); they are made here first so
the group can hold them on a fresh database.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "operators"

VIEW = [
    ("accounts", "organisation"),
    ("accounts", "user"),
    ("core", "auditentry"),
    ("market", "ruleprofile"),
    ("market", "tender"),
    ("market", "notice"),
    ("market", "objection"),
    ("market", "tenderattachment"),
    ("agencies", "crediteventkind"),
    ("agencies", "creditpolicy"),
    ("agencies", "agency"),
    ("agencies", "qualification"),
    ("agencies", "certificate"),
    ("agencies", "creditevent"),
    ("agencies", "creditlistentry"),
    ("agencies", "serviceevaluation"),
]
ADD = [("accounts", "organisation"), ("accounts", "user"), ("market", "ruleprofile"), ("agencies", "crediteventkind")]
CHANGE = [*ADD, ("agencies", "creditpolicy")]


def make_group(apps, schema_editor):
    for app_label in ("accounts", "core", "market", "agencies"):
        app_config = apps.get_app_config(app_label)
        app_config.models_module = True  # the migration state's stub has none; the models are in `apps`
        create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    wanted = (
        [(app, f"view_{model}") for app, model in VIEW]
        + [(app, f"add_{model}") for app, model in ADD]
        + [(app, f"change_{model}") for app, model in CHANGE]
    )
    permissions = [Permission.objects.get(content_type__app_label=app, codename=code) for app, code in wanted]
    group.permissions.set(permissions)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("accounts", "0001_initial"),
        ("core", "0004_audit_pending_and_append_only"),
        ("market", "0004_notices_append_only"),
        ("agencies", "0002_credit_defaults"),
    ]
    operations = [migrations.RunPython(make_group, remove_group)]
