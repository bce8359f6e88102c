"""core.canonical is pure Python, yet writes every value exactly as Django's JSON encoder does:
what is stored in JSON columns and what is signed must be the same text."""

import datetime
import decimal
import json
import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st

from core.canonical import canonical_json, to_jsonable

UTC = datetime.UTC
values = st.one_of(
    st.datetimes(timezones=st.sampled_from([UTC, datetime.timezone(datetime.timedelta(hours=8))])),
    st.datetimes(),
    st.dates(),
    st.times(),
    st.timedeltas(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.uuids(),
    st.text(),
    st.integers(),
)


@given(st.lists(values, max_size=5))
def test_values_are_written_as_django_writes_them(items):
    assert to_jsonable(items) == json.loads(json.dumps(items, cls=DjangoJSONEncoder))


def test_lazy_text_is_written_as_its_text():
    assert to_jsonable({"label": gettext_lazy("Name")}) == {"label": "Name"}


def test_canonical_bytes_are_sorted_and_compact():
    value = {"b": decimal.Decimal("1.50"), "a": datetime.datetime(2026, 3, 2, 1, 0, 0, 123456, tzinfo=UTC)}
    assert canonical_json(value) == b'{"a":"2026-03-02T01:00:00.123Z","b":"1.50"}'


def test_unknown_objects_are_refused():
    try:
        canonical_json({"x": object()})
    except TypeError:
        return
    raise AssertionError("an object JSON cannot represent was encoded")


def test_a_uuid_is_its_text():
    u = uuid.UUID(int=1)
    assert to_jsonable([u]) == [str(u)]
