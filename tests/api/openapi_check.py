"""Check a real API response against the committed docs/openapi.yaml.

OpenAPI 3.0 schemas are almost JSON Schema: `$ref`s are inlined and `nullable` becomes "or null".
Objects that list their properties accept no others, so a field the view adds without documenting
it fails the check as surely as a documented field that is missing or of the wrong type.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


@cache
def openapi() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return _json_schema(openapi()["components"]["schemas"][name])
    out = {k: _json_schema(v) for k, v in node.items() if k not in ("nullable", "readOnly", "writeOnly", "example")}
    if out.get("type") == "object" and "properties" in out:
        out.setdefault("additionalProperties", False)
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def response_schema(path: str, method: str, status: int) -> Any:
    operation = openapi()["paths"][path][method.lower()]
    content = operation["responses"][str(status)]["content"]["application/json"]
    return _json_schema(content["schema"])


def assert_matches(data: Any, path: str, method: str, status: int = 200) -> None:
    """`path` is the schema's template, e.g. "/api/tenders/{id}/opening/"."""
    jsonschema.validate(data, response_schema(path, method, status))
