"""API tokens (django-rest-knox): stored hashed (SHA-512), with an expiry, revocable, shown once.

Knox keeps only a digest and the first characters of each token, so nobody who reads the database (or an admin
page) can use one; the token itself is returned once, by :func:`token_create`, and never again. Each token expires
after ``AGORA_TOKEN_TTL_HOURS``; its holder revokes it (logout) or all of its tokens (logout everywhere). Creating
and revoking are audited, without the token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from knox.models import AuthToken  # type: ignore[import-untyped]

from accounts.models import User
from core.audit import audit_record


def token_create(*, user: User) -> tuple[str, datetime | None]:
    """A new token for ``user``: the token (shown now, never again) and when it expires."""
    with transaction.atomic():
        instance, token = AuthToken.objects.create(user=user)
        audit_record(
            actor=user,
            action="auth.token_create",
            object_type="auth.token",
            # A short piece of the digest names the token in the trail; never a piece of the token itself.
            object_id=instance.digest[:16],
            after={"user": user.get_username(), "expires": instance.expiry},
        )
    return token, instance.expiry


def token_revoke(*, user: User, token: Any) -> None:
    """Revoke the token this request came with."""
    with transaction.atomic():
        key = token.digest[:16]
        token.delete()
        audit_record(
            actor=user, action="auth.token_revoke", object_type="auth.token", object_id=key, after={"all": False}
        )


def token_revoke_all(*, user: User) -> int:
    """Revoke every token of ``user``; returns how many there were."""
    with transaction.atomic():
        count, _ = AuthToken.objects.filter(user=user).delete()
        audit_record(
            actor=user,
            action="auth.token_revoke",
            object_type="auth.token",
            object_id=user.get_username(),
            after={"all": True, "revoked": count},
        )
    return int(count)
