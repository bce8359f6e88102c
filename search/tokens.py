"""The embedded backend's tokens: overlapping CJK bigrams, plus whole words for Latin text and digits.

"造价咨询服务" becomes ``造价 价咨 咨询 询服 服务``. A query is tokenized the same way and searched
as a *phrase* (consecutive tokens), so a query of two or more CJK characters matches exactly the
texts that contain it as a substring, across what a word segmenter would call word boundaries
("价咨", "路改"). A single CJK character between non-CJK characters is kept as a one-character
token so that it is still findable as part of a longer query. Latin words and digit runs are
whole lower-cased tokens ("G20" → ``g20``); they match whole words, not substrings.

One-character queries cannot be phrase-searched on bigrams; the backends answer them from the base
tables instead (``LIKE``), see ``search.backends.database``.
"""

from __future__ import annotations

import re
import unicodedata

# Bump when the token stream of a text changes (every embedded index is then rebuilt).
VERSION = 1

# CJK ideographs (with extensions and compatibility blocks, and 々〆〇), kana and hangul: scripts written without
# spaces.
_CJK = (
    r"\u3005-\u3007\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
    r"\U00020000-\U0002ebef\U00030000-\U0003134f"
)
_RUN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)
_IS_CJK = re.compile(rf"[{_CJK}]")


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits become ASCII) and lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def tokens(text: str) -> list[str]:
    """The token stream of ``text`` (see the module docstring)."""
    out: list[str] = []
    for run in _RUN.findall(normalise(text)):
        if _IS_CJK.match(run):
            if len(run) == 1:
                out.append(run)
            else:
                out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out


def indexed(text: str) -> str:
    """What the full-text column stores: the tokens separated by spaces."""
    return " ".join(tokens(text))


def searchable_length(query: str) -> int:
    """How many characters of the query count (letters, digits, ideographs; not spaces or punctuation)."""
    return sum(len(run) for run in _RUN.findall(normalise(query)))
