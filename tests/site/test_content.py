"""Sanitising, uploads, caching and isolation of the public site."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context
from PIL import Image

from nations.site.actions import media_add, page_save
from nations.site.media import ImageRejected
from nations.site.models import Page
from nations.site.sanitise import clean_html
from tests.conftest import client_for

from .conftest import make_page

pytestmark = pytest.mark.django_db


def test_html_is_sanitised():
    dirty = (
        '<p onclick="steal()">Hi <a href="javascript:alert(1)">x</a> <a href="https://ok.example">ok</a></p>'
        '<script>alert(1)</script><img src=x onerror="alert(1)"><iframe src="https://evil"></iframe>'
        '<svg><script>alert(1)</script></svg><a href="JaVaScRiPt:alert(1)">y</a><style>body{}</style>'
    )
    clean = clean_html(dirty)
    for bad in (
        "onclick",
        "javascript",
        "JaVaScRiPt",
        "<script",
        "onerror",
        "<iframe",
        "<svg",
        "<style",
    ):
        assert bad not in clean
    assert '<a href="https://ok.example" rel="noopener noreferrer">ok</a>' in clean


def _png(size=(3000, 1500), fmt="PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "#3730a3").save(out, fmt)
    return out.getvalue()


def test_uploads_are_resized_and_bad_files_refused(alpha, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    with schema_context(alpha.nation.schema_name):
        item = media_add(upload=SimpleUploadedFile("banner.png", _png()), alt="Our banner")
        assert (item.width, item.height) == (2000, 1000)
        assert item.file.name.endswith(".png")
        for name, content in [
            (
                "evil.svg",
                b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            ),
            ("fake.png", b"GIF89a-not-really" + b"\0" * 100),
            ("notes.txt", b"hello"),
        ]:
            with pytest.raises(ImageRejected):
                media_add(upload=SimpleUploadedFile(name, content), alt="")
        huge = SimpleUploadedFile("huge.jpg", b"\xff\xd8" + b"\0" * 10)
        huge.size = 50 * 1024 * 1024
        with pytest.raises(ImageRejected, match="too large"):
            media_add(upload=huge, alt="")
        url = item.file.url
    assert url.startswith(f"/media/{alpha.nation.schema_name}/")
    response = client_for(alpha.host).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert client_for("bravo.localhost").get(url).status_code == 404


def test_anonymous_pages_are_cached_and_publishing_invalidates(
    alpha, django_capture_on_commit_callbacks
):
    page = make_page(alpha.nation, kind="basic", title="News", body="<p>First</p>")
    client = client_for(alpha.host)
    assert client.get("/news/")["X-Cache"] == "miss"
    assert client.get("/news/")["X-Cache"] == "hit"
    with schema_context(alpha.nation.schema_name):
        Page.objects.filter(pk=page.pk).update(body="<p>Sneaky</p>")  # not through an action
    assert "First" in client.get("/news/").content.decode()  # still the cached copy
    with django_capture_on_commit_callbacks(execute=True), schema_context(alpha.nation.schema_name):
        page_save(page=Page.objects.get(pk=page.pk), data={"body": "<p>Second</p>"})
    response = client.get("/news/")
    assert response["X-Cache"] == "miss" and "Second" in response.content.decode()


def test_a_nations_pages_do_not_show_on_another_nation(alpha, bravo):
    make_page(alpha.nation, kind="petition", title="Alpha secret petition", slug="alpha-only")
    assert client_for(alpha.host).get("/alpha-only/").status_code == 200
    other = client_for(bravo.host)
    assert other.get("/alpha-only/").status_code == 404
    assert "Alpha secret petition" not in other.get("/").content.decode()
    assert "alpha-only" not in other.get("/sitemap.xml").content.decode()


def test_sitemap_robots_and_feed(alpha):
    blog = make_page(alpha.nation, kind="blog", title="News")
    with schema_context(alpha.nation.schema_name):
        from nations.site.actions import page_publish

        for i in range(12):
            post = page_save(
                page=Page(),
                data={
                    "kind": "post",
                    "title": f"Post {i}",
                    "slug": f"post-{i}",
                    "blog": blog,
                    "topics": ["bikes"] if i % 2 else [],
                },
            )
            page_publish(page=post)
    client = client_for(alpha.host)
    assert "/post-3/" in client.get("/sitemap.xml").content.decode()
    assert "Sitemap:" in client.get("/robots.txt").content.decode()
    rss = client.get("/news/feed.xml")
    assert (
        rss["Content-Type"].startswith("application/rss+xml")
        and rss.content.decode().count("<item>") == 12
    )
    first = client.get("/news/").content.decode()
    assert first.count('class="card-post"') == 10 and "?page=2" in first
    assert client.get("/news/?page=2").content.decode().count('class="card-post"') == 2
    assert client.get("/news/?tag=bikes").content.decode().count('class="card-post"') == 6


def test_the_demo_site_command(db, committed):
    from django.core.management import call_command

    from tenants.actions import nation_create
    from tests.conftest import new_owner

    nation = nation_create(
        name="Demo Nation", slug="demo", country="FR", language="fr", owner=new_owner()
    )
    committed(call_command, "seed_demo_site")
    committed(call_command, "seed_demo_site")  # idempotent
    client = client_for("demo.localhost")
    home = client.get("/").content.decode()
    assert (
        "Des pistes cyclables" in home and "Réunion publique" in home and "Rejoignez-nous" in home
    )
    assert "Signez la pétition" in client.get("/pistes-cyclables/").content.decode()  # in French
    with schema_context(nation.schema_name):
        from nations.automations.models import Automation

        assert Page.objects.count() == 5
        # What staff try next: a sender and a turned-on automation thanking the signers, once.
        [thanks] = Automation.objects.all()
        assert thanks.status == "active" and thanks.trigger_page.slug == "pistes-cyclables"
        assert [s.kind for s in thanks.steps.order_by("position")] == ["wait", "email", "tag"]
    survey = client.get("/consultation/").content.decode()
    assert "Comment traversez-vous le boulevard" in survey and "Des passages piétons" in survey


def test_renaming_the_nation_refreshes_its_cached_pages_at_once(alpha, committed):
    make_page(alpha.nation, kind="basic", title="Welcome", body="<p>Hi</p>")
    visitor = client_for(alpha.host)
    assert visitor.get("/welcome/")["X-Cache"] == "miss"
    assert visitor.get("/welcome/")["X-Cache"] == "hit"
    panel = client_for(alpha.host, alpha.owner, alpha.nation)
    n = alpha.nation
    response = committed(
        panel.post,
        "/panel/settings/",
        {
            "name": "Renamed Collective",
            "language": n.language,
            "country": n.country,
            "timezone": n.timezone,
            "currency": n.currency,
        },
    )
    assert response.status_code == 302
    page = visitor.get("/welcome/")
    assert page["X-Cache"] == "miss" and "Renamed Collective" in page.content.decode()
