"""Throttling of the doors an attacker guesses at: login, API tokens and agency registration.

One rule, asked by every door: after ``limit`` failures (or, for registration, attempts) within ``window`` for
one account or one address, that account or address is refused with 429 until the window has passed since the
oldest counted one. A successful login clears the account's failures (not the address's: one right password
from an address that is trying many accounts does not wipe its record).

The counts live in Django's cache: Redis when ``REDIS_URL`` is set, so every worker and server shares them;
local memory otherwise (one process, the embedded default). Each count is a list of the times of the failures
by :mod:`core.clock`, so the window follows the platform's clock (tests move it) and not the cache's own expiry,
which only bounds how long the cache keeps the list.

The address is the client's: ``REMOTE_ADDR``, or, behind ``AGORA_TRUSTED_PROXIES`` reverse proxies, the address
that many hops from the right of ``X-Forwarded-For`` (what the nearest trusted proxy saw). Never trust more
proxies than there are: a client can write anything at the left of that header.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest

from core import clock
from core.errors import Throttled


@dataclass(frozen=True)
class Door:
    """One throttled entrance: how many failures an account and an address may have in the window."""

    name: str
    per_account: int
    per_address: int
    window: timedelta


def door(name: str) -> Door:
    """The limits of a door, from ``AGORA_THROTTLE`` in settings."""
    limits = settings.AGORA_THROTTLE[name]
    return Door(name, int(limits["account"]), int(limits["address"]), timedelta(seconds=int(limits["window"])))


def client_address(request: HttpRequest) -> str:
    """The client's address (see the module's docstring for proxies)."""
    trusted = int(getattr(settings, "AGORA_TRUSTED_PROXIES", 0))
    if trusted > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= trusted:
            return str(hops[-trusted])
    return str(request.META.get("REMOTE_ADDR", ""))


def _key(door_: Door, kind: str, value: str) -> str:
    # Hashed: usernames and addresses are personal data and cache keys must be short and plain.
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"agora:throttle:{door_.name}:{kind}:{digest}"


def _recent(key: str, window: timedelta, now: datetime) -> list[float]:
    cutoff = (now - window).timestamp()
    stamps = caches["default"].get(key) or []
    return [t for t in stamps if t > cutoff]


def _subjects(door_: Door, account: str, address: str) -> list[tuple[str, int]]:
    subjects = []
    if account:
        subjects.append((_key(door_, "account", account), door_.per_account))
    if address:
        subjects.append((_key(door_, "address", address), door_.per_address))
    return subjects


def throttle_check(door_: Door, *, account: str, address: str) -> None:
    """Refuse (429 :class:`Throttled`) when the account or the address has used up its failures."""
    now = clock.now()
    waits = []
    for key, limit in _subjects(door_, account, address):
        stamps = _recent(key, door_.window, now)
        if len(stamps) >= limit:
            oldest_counted = sorted(stamps)[-limit]
            waits.append(oldest_counted + door_.window.total_seconds() - now.timestamp())
    if waits:
        raise Throttled(max(1, math.ceil(max(waits))))


def throttle_fail(door_: Door, *, account: str, address: str) -> None:
    """Count one failure (or attempt) against the account and the address."""
    now = clock.now()
    cache = caches["default"]
    keep = int(door_.window.total_seconds()) + 60
    for key, limit in _subjects(door_, account, address):
        stamps = _recent(key, door_.window, now)
        stamps.append(now.timestamp())
        cache.set(key, stamps[-limit * 2 :], keep)


def throttle_clear(door_: Door, *, account: str) -> None:
    """A successful login clears the account's failures."""
    if account:
        caches["default"].delete(_key(door_, "account", account))
