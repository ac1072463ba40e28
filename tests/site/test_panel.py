"""The Website area of the control panel."""

from __future__ import annotations

import io

import pytest
from django_tenants.utils import schema_context
from PIL import Image

from nations.site.models import Page, Submission, TemplateOverride
from tests.conftest import client_for

from .conftest import form_data, make_page, question_fields

pytestmark = pytest.mark.django_db


def owner(alpha):
    return client_for(alpha.host, alpha.owner, alpha.nation)


def test_create_edit_preview_publish_and_unpublish_a_petition(alpha, committed):
    panel = owner(alpha)
    assert "No pages yet" in panel.get("/panel/website/").content.decode()
    response = panel.post(
        "/panel/website/pages/new/", {"kind": "petition", "title": "Clean air now"}
    )
    with schema_context(alpha.nation.schema_name):
        page = Page.objects.get(slug="clean-air-now")
    assert response["Location"] == f"/panel/website/pages/{page.pk}/"
    edit = panel.get(response["Location"]).content.decode()
    assert 'name="target"' in edit and 'name="goal"' in edit and 'name="starts_at"' not in edit
    response = panel.post(
        f"/panel/website/pages/{page.pk}/",
        {
            "title": "Clean air now",
            "slug": "clean-air",
            "intro": "Breathe.",
            "body": '<p onmouseover="x()">Hello <script>bad()</script><a href="javascript:evil()">x</a></p>',
            "target": "The Prefect",
            "goal": "500",
            "tags": "petition:air\nenvironment",
            "ask_address": "on",
        },
    )
    assert response.status_code == 302
    with schema_context(alpha.nation.schema_name):
        page.refresh_from_db()
        assert page.body == '<p>Hello <a rel="noopener noreferrer">x</a></p>'
        assert page.tags == ["petition:air", "environment"] and page.status == "draft"
    assert client_for(alpha.host).get("/clean-air/").status_code == 404
    preview = panel.get(f"/panel/website/pages/{page.pk}/preview/")
    assert preview.status_code == 200 and "The Prefect" in preview.content.decode()
    committed(panel.post, f"/panel/website/pages/{page.pk}/publish/")
    assert client_for(alpha.host).get("/clean-air/").status_code == 200
    committed(panel.post, f"/panel/website/pages/{page.pk}/unpublish/")
    assert client_for(alpha.host).get("/clean-air/").status_code == 404


def test_reserved_slugs_are_refused(alpha):
    panel = owner(alpha)
    page = make_page(alpha.nation, kind="survey", title="Survey", publish=False)
    response = panel.post(f"/panel/website/pages/{page.pk}/", {"title": "Survey", "slug": "panel"})
    assert response.status_code == 200
    assert "This address is reserved" in response.content.decode()


def test_responses_are_listed_and_exported(alpha, submit):
    page = make_page(
        alpha.nation,
        kind="survey",
        title="Poll",
        questions=[
            {"kind": "single", "label": "Colour", "choices": ["Red", "Blue"], "required": True}
        ],
    )
    colour = question_fields(alpha.nation, page)["Colour"]
    submit(client_for(alpha.host), "/poll/", form_data(alpha.nation, page, **{colour: "Blue"}))
    panel = owner(alpha)
    listing = panel.get(f"/panel/website/pages/{page.pk}/responses/").content.decode()
    assert "zoe@example.org" in listing and "Blue" in listing
    csv = b"".join(
        panel.get(f"/panel/website/pages/{page.pk}/responses/?format=csv").streaming_content
    )
    lines = csv.decode().splitlines()
    assert (
        lines[0].endswith("Colour")
        and lines[1].startswith("Zoé,Martin,zoe@example.org")
        and lines[1].endswith("Blue")
    )


def test_staff_without_site_permission_is_refused(alpha):
    staff = client_for(alpha.host, alpha.staff, alpha.nation)  # people.view only
    assert staff.get("/panel/website/").status_code == 403
    assert (
        staff.post("/panel/website/pages/new/", {"kind": "basic", "title": "x"}).status_code == 403
    )
    with schema_context(alpha.nation.schema_name):
        assert not Page.objects.exists()


def test_theme_file_override_preview_publish_and_revert(alpha, committed):
    make_page(alpha.nation, kind="basic", title="About")
    panel = owner(alpha)
    url = "/panel/website/theme/files/page.liquid/"
    broken = panel.post(
        url, {"source": "{% for i in (1..99999999) %}x{% endfor %}", "action": "publish"}
    )
    assert "limit" in broken.content.decode()
    with schema_context(alpha.nation.schema_name):
        assert not TemplateOverride.objects.exists()
    panel.post(url, {"source": "<p>DRAFT {{ page.title }}</p>", "action": "draft"})
    assert "DRAFT" not in client_for(alpha.host).get("/about/").content.decode()
    with schema_context(alpha.nation.schema_name):
        page = Page.objects.get(slug="about")
    assert "DRAFT About" in panel.get(f"/panel/website/pages/{page.pk}/preview/").content.decode()
    committed(panel.post, url, {"source": "<p>LIVE {{ page.title }}</p>", "action": "publish"})
    assert "LIVE About" in client_for(alpha.host).get("/about/").content.decode()
    committed(panel.post, url, {"action": "revert"})
    assert "LIVE" not in client_for(alpha.host).get("/about/").content.decode()


def test_media_upload_in_the_panel(alpha, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    out = io.BytesIO()
    Image.new("RGB", (40, 20), "red").save(out, "JPEG")
    out.name = "photo.jpg"
    out.seek(0)
    panel = owner(alpha)
    assert (
        panel.post("/panel/website/media/", {"file": out, "alt": "A red square"}).status_code == 302
    )
    svg = io.BytesIO(b"<svg onload='alert(1)'></svg>")
    svg.name = "x.svg"
    response = panel.post("/panel/website/media/", {"file": svg, "alt": "x"})
    assert "SVG files are not accepted" in response.content.decode()
    assert "A red square" in panel.get("/panel/website/media/").content.decode()


def test_menu_and_settings(alpha, committed):
    page = make_page(alpha.nation, kind="basic", title="About")
    panel = owner(alpha)
    committed(
        panel.post,
        "/panel/website/menu/",
        {"label": ["About us", ""], "target": [f"page:{page.pk}", ""]},
    )
    committed(
        panel.post,
        "/panel/website/settings/",
        {
            "title": "Alpha for all",
            "language": "en",
            "analytics": "plausible",
            "analytics_id": "alpha.example",
            "allow_indexing": "on",
            "redirects": "/old/ -> /about/",
            "not_found_text": "Lost? Try the menu.",
        },
    )
    site = client_for(alpha.host)
    home = site.get("/").content.decode()
    assert "About us" in home and "Alpha for all" in home and 'data-domain="alpha.example"' in home
    assert site.get("/old/")["Location"] == "/about/"
    assert "Lost? Try the menu." in site.get("/nowhere/").content.decode()
    bad = panel.post(
        "/panel/website/settings/", {"title": "x", "analytics": "google", "analytics_id": ""}
    )
    assert bad.status_code == 200 and "Enter the site id" in bad.content.decode()


def test_reorder_pages(alpha):
    a = make_page(alpha.nation, kind="basic", title="First")
    b = make_page(alpha.nation, kind="basic", title="Second")
    owner(alpha).post(f"/panel/website/pages/{b.pk}/up/")
    with schema_context(alpha.nation.schema_name):
        assert list(Page.objects.order_by("position").values_list("pk", flat=True)) == [b.pk, a.pk]
        assert not Submission.objects.exists()
