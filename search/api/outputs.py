"""What the public listings and the search health endpoint return, typed. The views render
through these serializers. A listing's hits carry the fields of its document type, declared once
in that type's ``search_documents.py``; their schema is built from that declaration."""

from __future__ import annotations

from functools import cache
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from search import documents

_KIND_SCHEMA: dict[str, dict[str, Any]] = {
    documents.TEXT: {"type": "string"},
    # A keyword field holds one value or several (an agency's categories).
    documents.KEYWORD: {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    documents.NUMBER: {"type": "number"},
    documents.DATE: {"type": "string", "format": "date-time", "nullable": True},
}


def _hit_schema(doc_type: documents.DocumentType) -> dict[str, Any]:
    properties = {f.name: dict(_KIND_SCHEMA[f.kind]) for f in doc_type.fields}
    properties["id"] = {"type": "integer", "description": "The document's id (the record's primary key)."}
    properties["highlight"] = {
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "description": "Text field → fragments with the matched words marked.",
    }
    return {"type": "object", "properties": properties, "required": ["id", "highlight"]}


@cache
def listing_output(doc_type_name: str) -> type[serializers.Serializer[Any]]:
    """The page of one listing: its hits (the document type's fields), facets and paging."""
    doc_type = documents.get(doc_type_name)
    title = doc_type_name.title().replace("_", "")
    # A hit is passed through as the backend returned it; its schema names the document's fields.
    hit = extend_schema_field(_hit_schema(doc_type))(type(f"{title}Hit", (serializers.JSONField,), {}))
    fields: dict[str, Any] = {
        "results": serializers.ListField(child=hit()),
        "facets": serializers.DictField(
            child=serializers.DictField(child=serializers.IntegerField()),
            help_text="Facet field → value → how many matching documents have it.",
        ),
        "next_cursor": serializers.CharField(allow_null=True, help_text="Pass back as `cursor` for the next page."),
        "total": serializers.IntegerField(),
        "total_is_lower_bound": serializers.BooleanField(help_text="The count stopped at the backend's cap."),
        "backend": serializers.CharField(help_text="Which backend answered: elasticsearch or database."),
        "degraded": serializers.BooleanField(help_text="Elasticsearch was down; the database answered instead."),
    }
    return type(f"{title}SearchPage", (serializers.Serializer,), fields)


class OutboxOutput(serializers.Serializer[Any]):
    pending = serializers.IntegerField(help_text="Index jobs not yet applied to the search service.")
    oldest_pending_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(
        required=False, allow_blank=True, help_text="Operators and supervisors only: the last failure's text."
    )


class SearchHealthOutput(serializers.Serializer[Any]):
    backend = serializers.CharField()
    ok = serializers.BooleanField()
    outbox = OutboxOutput(allow_null=True, help_text="None with the embedded database backend.")
    serving_from = serializers.CharField(required=False, help_text="With Elasticsearch: who answers listings now.")
    service = serializers.JSONField(
        required=False, help_text="Operators and supervisors only: the search service's own health report."
    )
