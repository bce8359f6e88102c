"""Canonical JSON: one byte string per value, for anything hashed or signed."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder


def to_jsonable(value: Any) -> Any:
    """Turn dates, decimals, UUIDs … into plain JSON values (the form stored in JSON columns)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no insignificant white space, UTF-8: equal values give equal bytes."""
    return json.dumps(
        to_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
