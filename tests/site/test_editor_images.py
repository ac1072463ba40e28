"""Images uploaded from inside the rich-text editor: the same checks as the Images tab (re-encoded,
resized, alt text required, no SVG), answered in JSON for the editor's dialog, stored in the
nation's own media, and only for its staff."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from nations.site.models import Media, Page
from tests.conftest import client_for

from .conftest import make_page
from .test_content import _png

pytestmark = pytest.mark.django_db

URL = "/panel/website/media/editor/"


def owner(world):
    return client_for(world.host, world.owner, world.nation)


def test_an_image_uploaded_from_the_editor_lands_in_the_page(alpha, settings, tmp_path, committed):
    settings.MEDIA_ROOT = str(tmp_path)
    page = make_page(alpha.nation, kind="basic", title="About", body="<p>Hello</p>")
    panel = owner(alpha)
    edit = panel.get(f"/panel/website/pages/{page.pk}/").content.decode()
    assert f'data-media="{URL}"' in edit  # the editor knows where to upload
    assert panel.get(URL).json() == {"images": []}

    response = panel.post(
        URL, {"file": SimpleUploadedFile("team.png", _png()), "alt": "Our volunteers"}
    )
    assert response.status_code == 201
    image = response.json()
    assert image["url"].startswith(f"/media/{alpha.nation.schema_name}/site/")
    assert (image["width"], image["height"], image["alt"]) == (2000, 1000, "Our volunteers")
    assert [i["url"] for i in panel.get(URL).json()["images"]] == [image["url"]]

    # What the editor puts in the text is kept by the sanitiser and shown to visitors.
    tag = (
        f'<img src="{image["url"]}" alt="Our volunteers" width="2000" height="1000" '
        'loading="lazy" onerror="steal()">'
    )
    committed(
        panel.post,
        f"/panel/website/pages/{page.pk}/",
        {"title": "About", "slug": "about", "body": f"<p>Hello</p>{tag}"},
    )
    with schema_context(alpha.nation.schema_name):
        body = Page.objects.get(pk=page.pk).body
    assert f'src="{image["url"]}"' in body and "onerror" not in body
    visitor = client_for(alpha.host)
    assert f'src="{image["url"]}"' in visitor.get("/about/").content.decode()
    assert visitor.get(image["url"])["Content-Type"] == "image/png"


def test_bad_uploads_from_the_editor_get_a_clear_message_and_store_nothing(
    alpha, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)
    panel = owner(alpha)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    huge = SimpleUploadedFile("huge.jpg", b"\xff\xd8" + b"\0" * (11 * 1024 * 1024))
    cases = [
        ({"file": SimpleUploadedFile("evil.svg", svg), "alt": "x"}, "SVG files are not accepted"),
        ({"file": SimpleUploadedFile("notes.txt", b"hello"), "alt": "x"}, "not an image"),
        ({"file": huge, "alt": "x"}, "too large"),
        ({"file": SimpleUploadedFile("ok.png", _png()), "alt": ""}, "This field is required"),
        ({"alt": "no file"}, "This field is required"),
    ]
    for data, message in cases:
        response = panel.post(URL, data)
        assert response.status_code == 400, message
        assert message in response.json()["error"]
    with schema_context(alpha.nation.schema_name):
        assert not Media.objects.exists()


def test_the_editor_upload_is_for_the_nations_site_staff_only(alpha, bravo, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    upload = {"file": SimpleUploadedFile("a.png", _png((10, 10))), "alt": "A"}
    # Staff of another nation, staff without the website permission, and visitors: refused.
    assert client_for(alpha.host, bravo.owner, bravo.nation).post(URL, upload).status_code in (
        302,
        403,
    )
    assert client_for(alpha.host, alpha.staff, alpha.nation).post(URL, upload).status_code == 403
    assert client_for(alpha.host).post(URL, upload).status_code in (302, 403)
    with schema_context(alpha.nation.schema_name):
        assert not Media.objects.exists()
    with schema_context(bravo.nation.schema_name):
        Media.objects.create(file="site/bravo-secret.png", alt="Bravo's secret image")
    listing = owner(alpha).get(URL).content.decode()
    assert "Bravo" not in listing
