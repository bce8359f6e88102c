"""The embedded backend's full-text structures, one kind per database, and keeping them in step.

Text is indexed as the tokens of ``search.tokens`` (overlapping CJK bigrams, whole Latin words and
digit runs) and every query word is searched as a phrase of its tokens:

- **SQLite**: one FTS5 table per document type, ``search_fts_<type>``, whose rowid is the
  ``SearchEntry`` id, with two columns: ``tokens`` (the text) and ``keys`` (one token per keyword
  value, ``layout.key_token``). One match applies the text and every keyword filter by merging
  their posting lists, and gives the entries of that type only; a listing goes from the match
  straight to the entries' short rows. An ``AFTER DELETE`` trigger on ``search_searchentry`` removes
  the text of a removed entry, whoever removes it (a flush included).
- **PostgreSQL**: a ``tsvector`` column on ``search_searchentry`` built from the same tokens with
  their positions (no text-search parser or locale involved) under a GIN index (migration
  ``search/0002_fulltext``), and ``'造价' <-> '价咨'`` phrase queries.

:func:`ensure` runs after every ``migrate``: it creates what a registered type lacks and rebuilds
the index of every type whose layout (``search.backends.layout``) is not the one it was built with,
so an upgrade or a changed declaration never serves a half-right index.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from search import documents, tokens

log = logging.getLogger(__name__)

MAX_POSITION = 16383  # the largest position a PostgreSQL tsvector keeps
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def table(doc_type: str) -> str:
    """The FTS5 table of a document type (SQLite)."""
    if not _NAME.match(doc_type):
        raise ValueError(f"search type name {doc_type!r} is not usable in a table name")
    return f"search_fts_{doc_type}"


# --- queries -------------------------------------------------------------------------------------------------------


def runs(text: str) -> list[list[str]]:
    """The query's words (between spaces), each as its token list; words with no token are dropped."""
    return [toks for toks in (tokens.tokens(run) for run in text.split()) if toks]


def _lone(toks: list[str]) -> bool:
    return len(toks) == 1 and len(toks[0]) == 1


def fts5_match(words: list[list[str]]) -> str:
    """Each word a phrase (a lone character: any token that starts with it), all of them required."""
    return " AND ".join(f'"{toks[0]}"*' if _lone(toks) else '"' + " ".join(toks) + '"' for toks in words)


def tsquery(words: list[list[str]]) -> str:
    return " & ".join(
        f"'{toks[0]}':*" if _lone(toks) else "(" + " <-> ".join(f"'{t}'" for t in toks) + ")" for toks in words
    )


def tsvector(toks: list[str]) -> str:
    return " ".join(f"'{t}':{min(i, MAX_POSITION)}" for i, t in enumerate(toks, 1))


# --- writing -------------------------------------------------------------------------------------------------------


def write(connection: BaseDatabaseWrapper, doc_type: str, rows: list[tuple[int, list[str], list[str]]]) -> None:
    """Replace the text of these entries: (entry id, text tokens, keyword tokens). PostgreSQL keeps only the
    text (its planner picks keyword filters' indexes well); SQLite keeps both, see ``layout.key_token``."""
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            name = table(doc_type)
            cursor.executemany(f"DELETE FROM {name} WHERE rowid = %s", [(row[0],) for row in rows])  # noqa: S608  # nosec B608  # names from code, values as %s
            cursor.executemany(
                f"INSERT INTO {name}(rowid, tokens, keys) VALUES (%s, %s, %s)",  # noqa: S608  # nosec B608  # a checked name, values as %s
                [(entry_id, " ".join(toks), " ".join(keys)) for entry_id, toks, keys in rows],
            )
        elif connection.vendor == "postgresql":
            cursor.executemany(
                "UPDATE search_searchentry SET vector = %s::tsvector WHERE id = %s",
                [(tsvector(toks), entry_id) for entry_id, toks, _ in rows],
            )


def clear(connection: BaseDatabaseWrapper, doc_type: str) -> None:
    """Remove every text of a type (its entries are being removed too): on SQLite the table is made
    anew, far faster than deleting its rows one by one."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table(doc_type)}")
        _create_sqlite(connection, doc_type)


# --- structures ----------------------------------------------------------------------------------------------------


def _create_sqlite(connection: BaseDatabaseWrapper, doc_type: str) -> None:
    name = table(doc_type)
    with connection.cursor() as cursor:
        # The tokens are stored (not contentless): an entry's text is removed by rowid alone.
        cursor.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {name} USING fts5(tokens, keys, columnsize=0)")
        # A checked name (table() refuses anything but [a-z0-9_]).
        trigger = (
            f"CREATE TRIGGER IF NOT EXISTS {name}_ad AFTER DELETE ON search_searchentry "  # noqa: S608  # nosec B608  # names from code, values as %s
            f"WHEN old.doc_type = '{doc_type}' BEGIN DELETE FROM {name} WHERE rowid = old.id; END"
        )
        cursor.execute(trigger)


def ensure(using: str = "default", *, verbosity: int = 1) -> list[str]:
    """Create the full-text structures every registered type needs and rebuild the index of each type
    built with another layout (or never built). Returns the types rebuilt. Safe to run twice."""
    from search.backends.database import DatabaseBackend
    from search.backends.layout import layout_of
    from search.models import SearchIndex

    connection = connections[using]
    rebuilt = []
    for name in sorted(documents.REGISTRY):
        if connection.vendor == "sqlite":
            _create_sqlite(connection, name)
        layout = layout_of(name)
        state = SearchIndex.objects.using(using).filter(doc_type=name).first()
        if state is not None and state.fingerprint == layout.fingerprint:
            continue
        count = DatabaseBackend(using=using).rebuild(name, documents.get(name).all_documents())
        rebuilt.append(name)
        if verbosity and count:
            log.warning("search: the embedded index of %s was rebuilt (%d documents)", name, count)
    return rebuilt


def on_post_migrate(
    sender: Any, *, using: str = "default", apps: Any = None, verbosity: int = 1, **kwargs: Any
) -> None:
    """After ``migrate``: :func:`ensure`, once the search app's schema is the current one (a migration
    back to an older state leaves the index alone)."""
    if apps is not None:
        try:
            apps.get_model("search", "SearchIndex")
            apps.get_model("search", "SearchEntry")._meta.get_field("k1")
        except (LookupError, FieldDoesNotExist):
            return
    try:
        ensure(using, verbosity=verbosity)
    except DatabaseError as exc:  # another app migrated to an older schema than its documents need
        log.warning("search: the embedded index was left as it is (%s); run manage.py search_reindex", exc)
