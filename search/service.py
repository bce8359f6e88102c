"""Which backend answers, and falling back when the search service is down."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from django.conf import settings

from search import indexing, tokens
from search.backends.base import Page, Query, SearchBackend, SearchUnavailable
from search.backends.database import DatabaseBackend

log = logging.getLogger(__name__)


@cache
def external_backend() -> SearchBackend | None:
    """The configured external search service, or None for the embedded default."""
    if settings.AGORA_SEARCH_BACKEND == "database":
        return None
    if settings.AGORA_SEARCH_BACKEND != "elasticsearch" or not settings.ELASTICSEARCH_URL:
        raise RuntimeError("AGORA_SEARCH_BACKEND=elasticsearch needs ELASTICSEARCH_URL")
    from search.backends.elasticsearch import ElasticsearchBackend

    return ElasticsearchBackend(
        settings.ELASTICSEARCH_URL,
        prefix=settings.AGORA_SEARCH_PREFIX,
        analyzer=settings.AGORA_SEARCH_ANALYZER,
        timeout=settings.AGORA_SEARCH_TIMEOUT,
    )


def search(query: Query) -> tuple[Page, bool]:
    """One page from the configured backend; from the database backend when the search service
    cannot answer (or for a one-character query). Returns the page and whether it is a fallback
    (``degraded``). A cursor is read only by the backend that issued it: paging across a fallback
    restarts with ``invalid_cursor``."""
    external = external_backend()
    # One character cannot be found among an analyzer's bigrams: the database answers it (LIKE).
    if external is not None and tokens.searchable_length(query.text) != 1:
        try:
            return external.search(query), False
        except SearchUnavailable as exc:
            log.warning("search: %s unavailable, answering from the database: %s", external.name, exc)
            return DatabaseBackend().search(query), True
    return DatabaseBackend().search(query), False


def health() -> dict[str, Any]:
    """What the health endpoint reports: the backend, whether it answers, and the outbox backlog."""
    external = external_backend()
    report: dict[str, Any] = {"backend": external.name if external else "database"}
    if external is None:
        report |= {"ok": True, "outbox": None}
        return report
    status = external.health()
    report |= {"ok": bool(status.get("ok")), "service": status, "outbox": indexing.backlog()}
    report["serving_from"] = external.name if report["ok"] else "database"
    return report
