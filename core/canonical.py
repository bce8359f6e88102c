"""Canonical JSON: one byte string per value, for anything hashed or signed.

Pure Python (no Django), so the offline verifier, the agency's client and the sealed-bid crypto
can use the very same encoding as the server. Dates, decimals, UUIDs and durations are written
exactly as Django's ``DjangoJSONEncoder`` writes them (ISO 8601, milliseconds, ``Z`` for UTC), so
values stored in JSON columns and values signed are the same text.
"""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from typing import Any


def _duration_iso(duration: datetime.timedelta) -> str:
    sign = ""
    if duration < datetime.timedelta(0):
        sign, duration = "-", -duration
    minutes, seconds = divmod(duration.seconds, 60)
    hours, minutes = divmod(minutes, 60)
    fraction = f".{duration.microseconds:06d}" if duration.microseconds else ""
    return f"{sign}P{duration.days}DT{hours:02d}H{minutes:02d}M{seconds:02d}{fraction}S"


class _Encoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, datetime.datetime):
            text = o.isoformat()
            if o.microsecond:
                text = text[:23] + text[26:]
            return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text
        if isinstance(o, datetime.date):
            return o.isoformat()
        if isinstance(o, datetime.time):
            if o.utcoffset() is not None:
                raise ValueError("JSON can't represent timezone-aware times.")
            text = o.isoformat()
            return text[:12] if o.microsecond else text
        if isinstance(o, datetime.timedelta):
            return _duration_iso(o)
        # A lazy translation string (Django's ``Promise``) is written as its text.
        if isinstance(o, decimal.Decimal | uuid.UUID) or type(o).__name__ == "__proxy__":
            return str(o)
        return super().default(o)


def to_jsonable(value: Any) -> Any:
    """Turn dates, decimals, UUIDs … into plain JSON values (the form stored in JSON columns)."""
    return json.loads(json.dumps(value, cls=_Encoder))


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no insignificant white space, UTF-8: equal values give equal bytes."""
    return json.dumps(
        to_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
