"""Point 4: with the production defaults `manage.py check --deploy` has nothing to say."""

from __future__ import annotations

from tests.deploy.probe import manage, production_env


def test_check_deploy_is_clean_with_production_defaults(tmp_path):
    done = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout
    assert "WARNING" not in done.stdout + done.stderr


def test_check_deploy_names_what_an_operator_turned_off(tmp_path):
    # The defaults are what keeps the check quiet: switching HTTPS off is reported, not hidden.
    env = production_env(tmp_path, AGORA_SSL_REDIRECT="0", AGORA_SECURE_COOKIES="0", AGORA_HSTS_SECONDS="0")
    done = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in done.stderr + done.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = production_env(tmp_path)
    del env["DJANGO_SECRET_KEY"]
    done = manage(env, "check")
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY" in done.stderr
