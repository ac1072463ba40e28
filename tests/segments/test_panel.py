"""The segment builder, saved segments, static lists and bulk actions in the control panel."""

from __future__ import annotations

import pytest
from django.utils.datastructures import MultiValueDict
from django_tenants.utils import schema_context

from nations.jobs.models import Job
from nations.people.builder import parse_form
from nations.people.models import Activity, ListMembership, PeopleList, Segment
from tenants.models import Membership
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def form(**conditions) -> dict:
    """A builder form: root group "0" matching all of the given conditions (path -> (f, o, v))."""
    data: dict = {"t:0": "g", "m:0": "all"}
    for i, (field, op, value) in enumerate(conditions.values()):
        path = f"0.{i}"
        data.update({f"t:{path}": "c", f"f:{path}": field, f"pf:{path}": field, f"o:{path}": op})
        data[f"v:{path}"] = value
    return data


def test_the_builder_form_round_trips_nested_groups_and_structural_changes():
    data = MultiValueDict(
        {
            "t:0": ["g"],
            "m:0": ["any"],
            "t:0.0": ["c"],
            "f:0.0": ["tags"],
            "pf:0.0": ["tags"],
            "o:0.0": ["all"],
            "v:0.0": ["volunteer", "donor"],
            "t:0.1": ["g"],
            "m:0.1": ["all"],
            "n:0.1": ["on"],
            "t:0.1.0": ["c"],
            "f:0.1.0": ["city"],
            "pf:0.1.0": ["city"],
            "o:0.1.0": ["eq"],
            "v:0.1.0": ["Paris"],
            # a field switched from city to support level: its operator and value reset
            "t:0.1.1": ["c"],
            "f:0.1.1": ["support_level"],
            "pf:0.1.1": ["city"],
            "o:0.1.1": ["contains"],
            "v:0.1.1": ["Lyon"],
        }
    )
    assert parse_form(data) == {
        "match": "any",
        "negate": False,
        "conditions": [
            {"field": "tags", "op": "all", "value": ["volunteer", "donor"]},
            {
                "group": {
                    "match": "all",
                    "negate": True,
                    "conditions": [
                        {"field": "city", "op": "eq", "value": "Paris"},
                        {"field": "support_level", "op": "eq", "value": ""},
                    ],
                }
            },
        ],
    }
    removed = parse_form(data, "remove:0.1")
    assert [list(c) for c in removed["conditions"]] == [["field", "op", "value"]]
    added = parse_form(data, "add-condition:0.1")
    assert len(added["conditions"][1]["group"]["conditions"]) == 3
    grouped = parse_form(data, "add-group:0")
    assert "group" in grouped["conditions"][2]
    assert parse_form(data, "remove:9.9") == parse_form(data)  # unknown paths change nothing


def test_live_count_partial_counts_and_lists_the_first_people(alpha, cast):
    panel = client_for(alpha.host, alpha.staff, alpha.nation)  # people.view is enough to look
    response = panel.post(
        "/panel/people/segments/preview/",
        form(a=("tags", "any", "volunteer"), b=("city", "eq", "Paris")),
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-count="1"' in html and "Ann Arnaud" in html and "Bob" not in html
    assert f'href="/panel/people/{cast["ann"].pk}/"' in html
    bad = panel.post("/panel/people/segments/preview/", form(a=("tags", "any", "")))
    assert "Pick at least one tag" in bad.content.decode()


def test_builder_adds_a_condition_and_refreshes_the_count_out_of_band(alpha, cast):
    panel = client_for(alpha.host, alpha.owner, alpha.nation)
    data = form(a=("tags", "any", "volunteer"))
    data["action"] = "add-group:0"
    html = panel.post(
        "/panel/people/segments/builder/", data, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'name="t:0.1" value="g"' in html and 'name="t:0.1.0" value="c"' in html
    assert 'hx-swap-oob="innerHTML"' in html
    # The new group's empty tag condition is not valid yet: the count says so.
    assert "Pick at least one tag" in html


def test_staff_save_edit_and_delete_a_segment(alpha, cast):
    panel = client_for(alpha.host, alpha.owner, alpha.nation)
    assert panel.get("/panel/people/segments/").status_code == 200
    assert "Build your first segment" in panel.get("/panel/people/segments/").content.decode()
    page = panel.get("/panel/people/segments/new/").content.decode()
    assert 'name="f:0.0"' in page and "Matching people" in page

    data = form(a=("tags", "any", "volunteer"))
    response = panel.post("/panel/people/segments/new/", {**data, "name": "Volunteers"})
    with schema_context(alpha.nation.schema_name):
        segment = Segment.objects.get(name="Volunteers")
    assert response.status_code == 302 and response.url == f"/panel/people/segments/{segment.pk}/"
    assert segment.definition["conditions"][0]["value"] == ["volunteer"]
    listing = panel.get("/panel/people/segments/").content.decode()
    assert "Volunteers" in listing and ">2<" in listing  # Ann and Bob

    edited = form(a=("tags", "any", "volunteer"), b=("city", "eq", "Lyon"))
    panel.post(f"/panel/people/segments/{segment.pk}/", {**edited, "name": "Lyon volunteers"})
    with schema_context(alpha.nation.schema_name):
        segment.refresh_from_db()
    assert segment.name == "Lyon volunteers" and len(segment.definition["conditions"]) == 2
    page = panel.get(f"/panel/people/segments/{segment.pk}/").content.decode()
    assert 'value="Lyon"' in page and "Bob Bernard" in page and "Ann Arnaud" not in page

    invalid = panel.post(
        f"/panel/people/segments/{segment.pk}/", {**form(a=("city", "eq", "")), "name": "X"}
    )
    assert invalid.status_code == 400 and "Enter a value" in invalid.content.decode()
    unnamed = panel.post("/panel/people/segments/new/", {**data, "name": " "})
    assert unnamed.status_code == 400 and "Give the segment a name" in unnamed.content.decode()
    duplicate = panel.post("/panel/people/segments/new/", {**data, "name": "Lyon volunteers"})
    assert duplicate.status_code == 400 and "already exists" in duplicate.content.decode()

    panel.post(f"/panel/people/segments/{segment.pk}/delete/")
    with schema_context(alpha.nation.schema_name):
        assert not Segment.objects.exists()


def test_lists_create_rename_add_remove_delete(alpha, cast):
    panel = client_for(alpha.host, alpha.owner, alpha.nation)
    response = panel.post("/panel/people/lists/new/", {"name": "Canvassers", "description": "Sat"})
    with schema_context(alpha.nation.schema_name):
        canvassers = PeopleList.objects.get(name="Canvassers")
    assert response.url == f"/panel/people/lists/{canvassers.pk}/"
    assert "Nobody on this list yet" in panel.get(response.url).content.decode()
    dup = panel.post("/panel/people/lists/new/", {"name": "Board"})
    assert dup.status_code == 400 and "already exists" in dup.content.decode()

    ann = cast["ann"]
    picker = panel.post(
        f"/panel/people/{ann.pk}/lists/",
        {"action": "add", "list": canvassers.pk},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "Canvassers" in picker and 'id="person-lists"' in picker
    panel.post(f"/panel/people/{ann.pk}/lists/", {"action": "add", "new_list": "Donors 2026"})
    with schema_context(alpha.nation.schema_name):
        assert set(
            PeopleList.objects.filter(memberships__person=ann).values_list("name", flat=True)
        ) == {"Board", "Canvassers", "Donors 2026"}
        assert Activity.objects.filter(person=ann, kind="listed", summary="Canvassers").exists()
    detail = panel.get(f"/panel/people/lists/{canvassers.pk}/").content.decode()
    assert "Ann Arnaud" in detail and "(1)" in detail

    panel.post(f"/panel/people/lists/{canvassers.pk}/edit/", {"name": "Door knockers"})
    panel.post(f"/panel/people/lists/{canvassers.pk}/remove/", {"person": ann.pk})
    with schema_context(alpha.nation.schema_name):
        canvassers.refresh_from_db()
        assert canvassers.name == "Door knockers" and not canvassers.memberships.exists()
        assert Activity.objects.filter(person=ann, kind="unlisted").exists()
    index = panel.get("/panel/people/lists/").content.decode()
    assert "Door knockers" in index and "Phone bank" in index

    panel.post(f"/panel/people/lists/{canvassers.pk}/delete/")
    with schema_context(alpha.nation.schema_name):
        assert not PeopleList.objects.filter(pk=canvassers.pk).exists()


def test_bulk_action_form_creates_a_job(alpha, cast, django_capture_on_commit_callbacks):
    panel = client_for(alpha.host, alpha.owner, alpha.nation)
    with schema_context(alpha.nation.schema_name):
        segment = Segment.objects.create(
            name="Parisians",
            definition={"conditions": [{"field": "city", "op": "eq", "value": "Paris"}]},
        )
    page = panel.get(f"/panel/people/bulk/?segment={segment.pk}").content.decode()
    assert "2 people" in page and "Parisians" in page
    odd = panel.post(
        "/panel/people/bulk/", {"segment": segment.pk, "action": "list", "target_list": "x"}
    )
    assert odd.status_code == 400 and "Pick a list" in odd.content.decode()
    assert (
        panel.post(f"/panel/people/lists/{cast['board'].pk}/remove/", {"person": "x"}).status_code
        == 404
    )
    missing = panel.post("/panel/people/bulk/", {"segment": segment.pk, "action": "tag", "tag": ""})
    assert missing.status_code == 400 and "Type the tag" in missing.content.decode()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = panel.post(
            "/panel/people/bulk/", {"segment": segment.pk, "action": "tag", "tag": "paris-2026"}
        )
    with schema_context(alpha.nation.schema_name):
        job = Job.objects.get()
    assert response.url == f"/panel/jobs/{job.pk}/" and job.total == 2
    assert "paris-2026" in job.title and len(callbacks) == 1  # sent only once committed
    selection = panel.post("/panel/people/bulk/", {"person": [cast["bob"].pk, cast["cat"].pk]})
    assert "2 people" in selection.content.decode()


def test_staff_without_people_edit_cannot_change_anything(alpha, cast):
    viewer = client_for(alpha.host, alpha.staff, alpha.nation)  # people.view only
    assert viewer.get("/panel/people/segments/").status_code == 200
    assert viewer.get("/panel/people/lists/").status_code == 200
    data = {**form(a=("tags", "any", "volunteer")), "name": "Sneaky"}
    assert viewer.post("/panel/people/segments/new/", data).status_code == 403
    assert viewer.post("/panel/people/lists/new/", {"name": "Sneaky"}).status_code == 403
    board = cast["board"]
    assert viewer.post(f"/panel/people/lists/{board.pk}/delete/").status_code == 403
    assert (
        viewer.post(
            f"/panel/people/lists/{board.pk}/remove/", {"person": cast["ann"].pk}
        ).status_code
        == 403
    )
    assert (
        viewer.post(f"/panel/people/{cast['bob'].pk}/lists/", {"list": board.pk}).status_code == 403
    )
    assert viewer.get(f"/panel/people/bulk/?list={board.pk}").status_code == 403
    response = viewer.post("/panel/people/bulk/", {"list": board.pk, "action": "tag", "tag": "x"})
    assert response.status_code == 403
    with schema_context(alpha.nation.schema_name):
        assert not Segment.objects.exists() and not Job.objects.exists()
        assert ListMembership.objects.filter(people_list=board).count() == 1
    page = viewer.get(f"/panel/people/{cast['ann'].pk}/lists/").content.decode()
    assert "Board" in page and "Add to a list" not in page

    # Granting people.edit opens the same doors.
    Membership.objects.filter(user=alpha.staff, nation=alpha.nation).update(
        permissions=["people.view", "people.edit"]
    )
    assert viewer.post("/panel/people/lists/new/", {"name": "Allowed"}).status_code == 302
