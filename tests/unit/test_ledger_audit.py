"""The audit log's row and entry hashes (livecert.ledger.audit): the fast encoder writes
exactly the canonical JSON the module documents (ledgers already written depend on it), and
the batch hasher agrees with it."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from hypothesis import given, settings, strategies as st

from livecert.ledger.audit import canonical, entry_hash, row_hash, row_hasher
from livecert.ledger.schema import audit_log, payment_events, persons


def reference_row_hash(table: sa.Table, row: dict[str, object]) -> str:
    """The documented form, written the slow and obvious way."""
    doc = {"table": table.name, "row": {c.name: canonical(row[c.name]) for c in table.columns}}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def reference_entry_hash(entry: dict[str, object]) -> str:
    doc = {c.name: canonical(entry[c.name]) for c in audit_log.columns if c.name != "entry_hash"}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_zones = st.sampled_from([None, timezone.utc, timezone(timedelta(hours=8)), timezone(timedelta(hours=-3))])


def _value(column: sa.Column[object]) -> st.SearchStrategy[object]:
    kind = type(column.type)
    if issubclass(kind, sa.DateTime):
        base: st.SearchStrategy[object] = st.builds(
            lambda d, z: d.replace(tzinfo=z), st.datetimes(datetime(1990, 1, 1), datetime(2090, 1, 1)), _zones
        )
    elif issubclass(kind, sa.Date):
        base = st.dates(date(1900, 1, 1), date(2200, 1, 1))
    elif issubclass(kind, sa.Boolean):
        base = st.booleans()
    elif issubclass(kind, (sa.Integer, sa.BigInteger)):
        base = st.integers(-(2**63), 2**63 - 1)
    elif issubclass(kind, sa.LargeBinary):
        base = st.binary(max_size=64)
    else:
        base = st.text(max_size=40)  # quotes, backslashes, control characters, any script
    return st.none() | base if column.nullable else base


def rows(table: sa.Table) -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries({c.name: _value(c) for c in table.columns})


@settings(max_examples=300)
@given(st.sampled_from([persons, payment_events, audit_log]).flatmap(lambda t: st.tuples(st.just(t), rows(t))))
def test_row_hash_is_the_documented_canonical_json(case: tuple[sa.Table, dict[str, object]]) -> None:
    table, row = case
    assert row_hash(table, row) == reference_row_hash(table, row)
    if table is audit_log:
        assert entry_hash(row) == reference_entry_hash(row)


@settings(max_examples=200)
@given(rows(persons), st.sets(st.sampled_from([c.name for c in persons.columns])))
def test_the_batch_hasher_agrees_with_row_hash(row: dict[str, object], fixed_names: set[str]) -> None:
    order = [c.name for c in reversed(persons.columns)]  # any order: values are taken by position
    hasher = row_hasher(persons, order, {n: row[n] for n in fixed_names})
    given_row = [row[n] if n not in fixed_names else "ignored" for n in order]
    assert hasher(given_row) == row_hash(persons, row)


def test_the_batch_hasher_needs_every_column() -> None:
    with pytest.raises(KeyError, match="name"):
        row_hasher(persons, [c.name for c in persons.columns if c.name != "name"], {})
