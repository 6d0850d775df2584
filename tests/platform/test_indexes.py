"""The busiest tables carry no index that another one already provides (issue 12).

Every index is written on every insert and on every update of its columns: an invitation is
created, claimed, sent, rated and expired; a review and its version are written per
submission. An index whose columns lead another index of the same table serves nothing the
longer one does not (lookups, the tenant filter, a foreign key's cascade), so it only costs.
"""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

BUSY_TABLES = (
    "invitations_invitation",
    "invitations_invitationemail",
    "reviews_review",
    "reviews_reviewversion",
)


def _indexes(table: str) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, am.amname, i.indisunique, i.indpred IS NOT NULL, "
            "i.indexprs IS NOT NULL, i.indnkeyatts, i.indkey::int2[] "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_class t ON t.oid = i.indrelid JOIN pg_am am ON am.oid = c.relam "
            "WHERE t.relname = %s",
            [table],
        )
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT a.attnum, a.attname FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid "
            "WHERE t.relname = %s AND a.attnum > 0",
            [table],
        )
        names = dict(cursor.fetchall())
    return [
        {
            "name": name,
            "method": method,
            "unique": unique,
            "partial": partial,
            "expression": expression,
            "columns": tuple(names.get(number, "?") for number in keys[:key_count]),
            "covering": len(keys) > key_count,  # INCLUDE columns: for index-only scans
        }
        for name, method, unique, partial, expression, key_count, keys in rows
    ]


@pytest.mark.parametrize("table", BUSY_TABLES)
def test_it_keeps_no_index_that_another_index_leads_with(table):
    """Issue 12 (bench: ingest, emails, rating, expiry): no plain b-tree index (not unique, not
    covering) is a leading prefix of another full b-tree index of the same table."""
    indexes = _indexes(table)
    full = [i for i in indexes if i["method"] == "btree" and not i["partial"]]
    redundant = [
        (short["name"], longer["name"])
        for short in full
        if not (short["unique"] or short["expression"] or short["covering"])
        for longer in full
        if longer is not short
        and len(longer["columns"]) > len(short["columns"])
        and longer["columns"][: len(short["columns"])] == short["columns"]
    ]
    assert redundant == []
    assert any(i["columns"][:1] == ("company_id",) for i in full), "tenant filter unserved"


def test_it_keeps_no_pattern_index_on_the_token_hash():
    """Issue 12, R9: the token hash is looked up by equality only; its uniqueness holds."""
    indexes = _indexes("invitations_invitation")
    on_hash = [i for i in indexes if i["columns"] == ("token_hash",)]
    assert [i["unique"] for i in on_hash] == [True]


def _foreign_keys(table: str) -> list[tuple[tuple[str, ...], str]]:
    """(columns, referenced table) of every foreign key of ``table``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ARRAY(SELECT a.attname FROM unnest(con.conkey) AS k(n) "
            "JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n "
            "ORDER BY a.attname), ref.relname FROM pg_constraint con "
            "JOIN pg_class t ON t.oid = con.conrelid JOIN pg_class ref ON ref.oid = con.confrelid "
            "WHERE con.contype = 'f' AND t.relname = %s",
            [table],
        )
        return [(tuple(columns), target) for columns, target in cursor.fetchall()]


@pytest.mark.parametrize("table", [*BUSY_TABLES, "invitations_order", "invitations_orderitem"])
def test_it_checks_each_reference_of_a_busy_table_once(table):
    """Issue 12 (bench: rating, ingest), tenancy: a reference with a composite tenant key (x_id,
    company_id) has no second, single-column key to the same table; the tenant keys stay."""
    keys = _foreign_keys(table)
    composite = {(columns, target) for columns, target in keys if "company_id" in columns}
    single = [(columns, target) for columns, target in keys if len(columns) == 1]
    twice = [
        (columns, target)
        for columns, target in single
        if (tuple(sorted((*columns, "company_id"))), target) in composite
    ]
    assert twice == []
    assert (("company_id", "shop_id"), "companies_shop") in composite
    assert (("company_id",), "companies_company") in single
