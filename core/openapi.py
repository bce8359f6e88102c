"""The API schema's error responses (a drf-spectacular postprocessing hook).

Every refusal is ``{code, detail, detail_zh}`` (validation errors add ``fields``; core/errors.py), but the
views document only their successes. This hook adds the ``Error`` component and, to each operation, the
refusals it can give, so a client (and the fuzzer in tests/fuzz/) can rely on every status it meets.
"""

from __future__ import annotations

from typing import Any

ERROR_COMPONENT: dict[str, Any] = {
    "type": "object",
    "description": "Every refusal: a machine-readable code and a message in English and Chinese.",
    "properties": {
        "code": {"type": "string", "description": "Machine-readable, e.g. not_found, invalid, throttled."},
        "detail": {"type": "string"},
        "detail_zh": {"type": "string"},
        "fields": {
            "type": "object",
            "additionalProperties": {},
            "description": "Validation errors only (code invalid): the messages of each field.",
        },
    },
    "required": ["code", "detail", "detail_zh"],
}

DESCRIPTIONS = {
    "400": "The request is malformed or has invalid fields (code invalid, malformed_request, …).",
    "401": "No valid credentials: log in, or the token is invalid or expired.",
    "403": "The caller's role may not do this.",
    "404": "No such object, or not one the caller may see.",
    "409": "The object's state does not allow this now (e.g. a tender past its deadline).",
    "413": "The upload is larger than the platform accepts.",
    "415": "The request body's media type is not accepted.",
    "429": "Too many failed attempts; the Retry-After header says when to try again.",
    "503": "The platform is briefly unavailable (code service_unavailable: its database does not answer; the "
    "Retry-After header says when to try again), or the platform certificate authority is not configured.",
}

# Doors counted by accounts/throttling.py.
THROTTLED = {("/api/auth/token/", "post"), ("/api/agencies/register/", "post")}
# Reads that depend on the tender's state: a key holder's share exists only during the opening.
READ_CONFLICTS = {("/api/tenders/{id}/opening/share/", "get")}
WRITES = {"post", "put", "patch", "delete"}
METHODS = WRITES | {"get"}


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    security = operation.get("security") or [{}]
    authenticates = any(requirement for requirement in security)
    parameters = operation.get("parameters") or []
    body = operation.get("requestBody")
    statuses: list[str] = []
    if body or parameters:
        statuses.append("400")
    if authenticates:
        # A bad token fails everywhere; a missing one where login is required; a role where it does not fit.
        statuses += ["401", "403"]
    if any(p.get("in") == "path" for p in parameters) or authenticates:
        statuses.append("404")
    if method in WRITES or (path, method) in READ_CONFLICTS:
        statuses.append("409")
    if method in WRITES:
        if body:
            statuses.append("415")
        if body and any(not media.endswith("json") for media in body.get("content", {})):
            statuses.append("413")
    if (path, method) in THROTTLED:
        statuses.append("429")
    # Any operation that reaches the database meets its outage (core/faults.py); those that use the platform CA
    # also its absence (agencies/ca.py).
    statuses.append("503")
    return statuses


def error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Add ``components.schemas.Error`` and each operation's error responses (those it does not document itself)."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_COMPONENT
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status in _statuses(path, method, operation):
                responses.setdefault(status, {"description": DESCRIPTIONS[status], "content": error})
            operation["responses"] = dict(sorted(responses.items()))
    return result
