"""Every field and operator of the segment builder, asserted by who matches; nesting; errors;
and the one-query contract."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from nations.people.filters import (
    CUSTOM_OPS,
    FIELDS,
    FilterError,
    segment_count,
    segment_people,
    source_people,
)
from nations.people.models import Segment

from .conftest import names

pytestmark = pytest.mark.django_db


def one(field, op, value=None):
    return {"match": "all", "conditions": [{"field": field, "op": op, "value": value}]}


def match(definition) -> set[str]:
    return names(segment_people(definition))


CASES = [
    # tags
    ("tags", "any", ["volunteer"], {"ann", "bob"}),
    ("tags", "any", ["press", "volunteer"], {"ann", "bob", "dan"}),
    ("tags", "all", ["volunteer", "donor"], {"ann"}),
    ("tags", "none", ["volunteer"], {"cat", "dan"}),
    ("tags", "any", ["no-such-tag"], set()),
    # lists (ids filled in by the test)
    ("lists", "any", ["phonebank"], {"bob", "cat"}),
    ("lists", "none", ["board"], {"bob", "cat", "dan"}),
    # support level
    ("support_level", "eq", "5", {"ann"}),
    ("support_level", "neq", "5", {"bob", "cat", "dan"}),  # unknown levels included
    ("support_level", "gte", "4", {"ann", "dan"}),
    ("support_level", "lte", "2", {"bob"}),
    ("support_level", "empty", None, {"cat"}),
    ("support_level", "not_empty", None, {"ann", "bob", "dan"}),
    # location
    ("country", "eq", "fr", {"ann", "bob", "dan"}),
    ("country", "neq", "FR", {"cat"}),
    ("city", "eq", "paris", {"ann", "dan"}),
    ("city", "contains", "ond", {"cat"}),
    ("city", "startswith", "Ly", {"bob"}),
    ("postal_code", "startswith", "75", {"ann", "dan"}),
    ("postal_code", "startswith", "sw1a 1", {"cat"}),
    ("postal_code", "eq", "69003", {"bob"}),
    ("region", "empty", None, {"bob", "cat", "dan"}),
    ("region", "not_empty", None, {"ann"}),
    ("language", "eq", "EN", {"bob", "cat"}),
    ("language", "neq", "en", {"ann", "dan"}),
    # names and work
    ("first_name", "eq", "ANN", {"ann"}),
    ("last_name", "startswith", "Du", {"dan"}),
    ("email", "contains", "bob@", {"bob"}),
    ("email", "empty", None, {"cat"}),
    ("employer", "eq", "mairie", {"ann"}),
    ("occupation", "neq", "Teacher", {"bob", "cat", "dan"}),
    # dates
    ("created_at", "before", "2022-01-01", {"ann"}),
    ("created_at", "after", "2023-06-01", {"cat"}),
    ("created_at", "after", "2023-05-31", {"bob", "cat"}),
    ("updated_at", "within_days", "30", {"ann"}),
    ("updated_at", "more_than_days_ago", "30", {"bob", "cat", "dan"}),
    ("last_activity_at", "within_days", "30", {"ann"}),
    ("last_activity_at", "more_than_days_ago", "30", {"bob"}),
    ("last_activity_at", "empty", None, {"cat", "dan"}),
    ("birthdate", "before", "1970-01-01", {"bob"}),
    ("birthdate", "after", "1980-01-01", {"ann"}),
    ("birthdate", "not_empty", None, {"ann", "bob"}),
    # donations
    ("donated", "is", "true", {"ann", "cat"}),
    ("donated", "is", "false", {"bob", "dan"}),
    ("donations_total", "gte", "100", {"ann"}),
    ("donations_total", "lte", "5", {"bob", "cat", "dan"}),
    ("donations_total", "eq", "150", {"ann"}),
    ("donations_total", "neq", "150", {"bob", "cat", "dan"}),
    ("donations_count", "gte", "1", {"ann", "cat"}),
    ("last_donation_at", "within_days", "30", {"ann"}),
    ("last_donation_at", "more_than_days_ago", "365", {"cat"}),
    ("last_donation_at", "empty", None, {"bob", "dan"}),
    # gifts in a period need the donations table (tests/donations/test_segments.py has givers)
    ("gift_at", "within_days", "30", set()),
    ("gift_at", "after", "2020-01-01", set()),
    ("gift_at", "before", "2020-01-01", set()),
    ("donated_between", "between", ["2020-01-01", "2020-12-31"], set()),
    ("given_12_months", "gte", "1", set()),  # the cast has no gifts: every total is 0
    ("given_this_year", "lte", "0", {"ann", "bob", "cat", "dan"}),
    # consent
    ("email_consent", "eq", "granted", {"ann", "dan"}),
    ("email_consent", "neq", "granted", {"bob", "cat"}),
    ("sms_consent", "eq", "granted", {"bob"}),
    ("sms_consent", "eq", "withdrawn", {"ann"}),
    ("phone_consent", "eq", "granted", {"ann"}),
    ("post_consent", "eq", "granted", {"cat"}),
    # has email / phone, points
    ("has_email", "is", "true", {"ann", "bob", "dan"}),
    ("has_email", "is", "false", {"cat"}),
    ("has_phone", "is", "true", {"ann", "cat"}),
    ("has_phone", "is", "false", {"bob", "dan"}),
    ("points", "gte", "5", {"ann"}),
    # custom fields, by kind
    ("custom:shirt", "eq", "L", {"ann"}),
    ("custom:shirt", "neq", "L", {"bob", "cat", "dan"}),
    ("custom:shirt", "empty", None, {"cat", "dan"}),
    ("custom:shirt", "not_empty", None, {"ann", "bob"}),
    ("custom:age", "gte", "40", {"bob"}),
    ("custom:age", "lte", "40", {"ann"}),
    ("custom:age", "eq", "30", {"ann"}),
    ("custom:age", "neq", "30", {"bob", "cat", "dan"}),
    ("custom:joined", "after", "2021-01-01", {"ann"}),
    ("custom:joined", "before", "2021-01-01", set()),
    ("custom:team", "contains", "rock", {"ann"}),
    ("custom:team", "eq", "Blue", {"cat"}),
    ("custom:team", "neq", "Blue", {"ann", "bob", "dan"}),
]


@pytest.mark.parametrize(("field", "op", "value", "expected"), CASES)
def test_each_field_and_operator_matches_the_right_people(cast, field, op, value, expected):
    if field == "lists":
        value = [cast[v].pk for v in value]
    definition = one(field, op, value)
    assert match(definition) == expected
    assert segment_count(definition) == segment_people(definition).count()


def test_every_kind_of_field_and_operator_is_covered():
    covered = {(FIELDS[f][0], o) for f, o, _v, _e in CASES if f in FIELDS}
    builtin = {(kind, o) for kind, ops in FIELDS.values() for o in ops}
    assert builtin <= covered, builtin - covered
    assert {f for f, *_ in CASES} >= set(FIELDS)  # and every field at least once
    kinds = {"choice": "shirt", "number": "age", "date": "joined", "text": "team"}
    custom = {(f, o) for f, o, _v, _e in CASES}
    for kind, ops in CUSTOM_OPS.items():
        for op in ops:
            if op not in ("empty", "not_empty"):
                assert (f"custom:{kinds[kind]}", op) in custom, (kind, op)


def test_all_any_and_not_groups_nest(cast):
    volunteers_in_paris = {
        "match": "all",
        "conditions": [
            {"field": "tags", "op": "any", "value": ["volunteer"]},
            {"field": "city", "op": "eq", "value": "Paris"},
        ],
    }
    assert match(volunteers_in_paris) == {"ann"}
    either = dict(volunteers_in_paris, match="any")
    assert match(either) == {"ann", "bob", "dan"}
    assert match(dict(either, negate=True)) == {"cat"}
    nested = {
        "match": "all",
        "conditions": [
            {"field": "country", "op": "eq", "value": "FR"},
            {
                "group": {
                    "match": "any",
                    "negate": True,
                    "conditions": [
                        {"field": "tags", "op": "any", "value": ["press"]},
                        {"field": "support_level", "op": "lte", "value": "2"},
                    ],
                }
            },
        ],
    }
    assert match(nested) == {"ann"}  # French, and neither press nor low support
    deeper = {
        "match": "any",
        "conditions": [
            {"field": "postal_code", "op": "startswith", "value": "SW"},
            {"group": {"match": "all", "conditions": [nested]}},
        ],
    }
    deeper["conditions"][1]["group"]["conditions"] = [{"group": nested}]
    assert match(deeper) == {"ann", "cat"}
    assert match({"match": "all", "conditions": []}) == {"ann", "bob", "cat", "dan"}
    assert match({"match": "all", "negate": True, "conditions": []}) == set()


def test_a_segment_count_is_one_query(cast):
    definition = {
        "match": "all",
        "conditions": [
            {"field": "tags", "op": "any", "value": ["volunteer", "donor"]},
            {"field": "postal_code", "op": "startswith", "value": "75"},
            {"field": "email_consent", "op": "eq", "value": "granted"},
            {
                "group": {
                    "match": "any",
                    "negate": True,
                    "conditions": [
                        {"field": "lists", "op": "any", "value": [cast["phonebank"].pk]},
                        {"field": "tags", "op": "all", "value": ["press", "donor"]},
                    ],
                }
            },
        ],
    }
    with CaptureQueriesContext(connection) as queries:
        count = segment_count(definition)
    sql = [q["sql"] for q in queries if not q["sql"].startswith("SET search_path")]
    assert len(sql) == 1 and sql[0].startswith("SELECT COUNT(*)"), sql
    assert count == 1  # Ann: Dan is press + donor


def test_a_saved_segment_and_its_definition_give_the_same_people(cast):
    segment = Segment.objects.create(
        name="French volunteers", definition=one("tags", "any", ["volunteer"])
    )
    assert names(segment_people(segment)) == {"ann", "bob"} == match(segment.definition)
    assert segment_count(segment) == len(segment_people(segment))
    assert names(source_people({"segment": segment.pk})) == {"ann", "bob"}
    assert names(source_people({"list": cast["phonebank"].pk})) == {"bob", "cat"}
    assert names(source_people({"people": [cast["dan"].pk, cast["eve"].pk]})) == {"dan"}


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (one("shoe_size", "eq", "42"), "Unknown field"),
        (one("city", "greater", "x"), "Unknown operator"),
        (one("city", "eq", "  "), "Enter a value"),
        (one("tags", "any", []), "Pick at least one tag"),
        (one("lists", "any", ["abc"]), "Pick a list"),
        (one("lists", "any", []), "Pick a list"),
        (one("support_level", "gte", "lots"), "Enter a number"),
        (one("created_at", "after", "31/12/2020"), "YYYY-MM-DD"),
        (one("created_at", "within_days", "soon"), "number of days"),
        (one("email_consent", "eq", "maybe"), "consent status"),
        (one("custom:nope", "eq", "x"), "Unknown custom field"),
        (one("custom:age", "contains", "3"), "Unknown operator"),
        ({"match": "sometimes", "conditions": []}, "Unknown match mode"),
        ({"conditions": ["city"]}, "malformed"),
        ({"conditions": [{"field": "city", "op": "eq", "value": "x"}] * 101}, "Too many"),
    ],
)
def test_invalid_definitions_raise_a_clear_error(cast, definition, message):
    with pytest.raises(FilterError, match=message):
        segment_count(definition)


def test_too_deep_nesting_is_refused(cast):
    definition: dict = {"match": "all", "conditions": []}
    for _ in range(7):
        definition = {"match": "all", "conditions": [{"group": definition}]}
    with pytest.raises(FilterError, match="nested too deeply"):
        segment_count(definition)


def test_errors_speak_the_users_language(cast):
    from django.utils import translation

    with translation.override("fr"), pytest.raises(FilterError) as error:
        segment_count(one("tags", "any", []))
    assert "Pick at least one tag" not in str(error.value)


# Columns empty for most people have partial indexes (people.0006): no index write for an
# empty value, which is most of an import's rows. Each filter must still be able to use one.
PARTIAL_INDEX_FILTERS = [
    (one("language", "eq", "fr"), "person_language_set"),
    (one("sms_consent", "eq", "granted"), "person_sms_consent_set"),
    (one("donations_total", "gte", "50"), "person_donations_total_set"),
    (one("last_donation_at", "within_days", "30"), "person_last_donation_set"),
    (one("last_donation_at", "before", "2024-01-01"), "person_last_donation_set"),
]


@pytest.mark.parametrize("definition,index", PARTIAL_INDEX_FILTERS)
def test_filters_on_mostly_empty_columns_use_their_partial_index(cast, definition, index):
    query = segment_people(definition).order_by().values("pk")
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        # The cast is tiny, so the planner would read the table; forbid that to see whether an
        # index can answer at all (a filter the partial index cannot serve still seq-scans).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan


@pytest.mark.parametrize(
    "where,index",
    [
        ({"external_id": "NB-1"}, "person_external_id_set_unique"),
        ({"recruiter_code": "abc"}, "person_recruiter_code_unique"),
        ({"recruiter_id__in": [1, 2]}, "person_recruiter"),
    ],
)
def test_lookups_by_rare_identifiers_use_their_partial_index(cast, where, index):
    from nations.people.models import Person

    sql, params = Person.objects.filter(**where).order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan
