"""API tokens moved to django-rest-knox, which keeps only a digest. The old table of DRF's authtoken app held every
token in clear; it is dropped, so the tokens in it stop working and nobody can read them any more."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", reverse_sql=migrations.RunSQL.noop)]
