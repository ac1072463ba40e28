"""The Liquid sandbox and theme overrides: a nation's broken template never breaks its site."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django_tenants.utils import schema_context

from nations.site.models import SiteSettings, TemplateOverride
from tests.conftest import client_for
from themes import engine

from .conftest import make_page

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "{% for i in (1..100000000) %}{% for j in (1..100000000) %}x{% endfor %}{% endfor %}",
            "limit",
        ),
        (
            "{% for i in (1..15000) %}{{ 'x' | append: 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy' }}{% endfor %}",
            "limit",
        ),
        ("{% include '/etc/passwd' %}", "does not exist"),
        ("{% include '../../config/settings/base.py' %}", "does not exist"),
        ("{% render 'http://evil.example/x' %}", "does not exist"),
        ("{% if %}", "error"),
        ("{{ page.title | no_such_filter }}", "error"),
    ],
)
def test_the_sandbox_refuses_with_a_clear_message(source, expected, monkeypatch):
    # The render-time limit has its own test below; here a loaded machine must not hit it
    # before the loop and output limits these templates are about.
    monkeypatch.setattr(engine, "RENDER_SECONDS", 30)
    started = time.monotonic()
    error = engine.check("default", "page.liquid", source, {"page": {"title": "x"}})
    assert expected in error
    assert time.monotonic() - started < 30


def test_a_template_that_includes_itself_stops():
    error = engine.check("default", "page.liquid", "{% include 'page' %}", {})
    assert error


def test_a_slow_template_hits_the_time_limit(monkeypatch):
    monkeypatch.setattr(engine, "RENDER_SECONDS", 0.05)
    source = "{% for i in (1..19000) %}{% capture x %}{{ i }}{% endcapture %}{% for j in (1..1) %}{% endfor %}{% endfor %}"
    source = "{% for a in (1..19) %}" + source + "{% endfor %}"
    error = engine.check("default", "page.liquid", source, {})
    assert "limit" in error or "too long" in error


def test_a_broken_override_falls_back_to_the_original_for_visitors(alpha):
    make_page(alpha.nation, kind="basic", title="About", body="<p>About us</p>")
    with schema_context(alpha.nation.schema_name):
        TemplateOverride.objects.create(
            theme="default",
            name="page.liquid",
            source="{% for i in (1..999999999) %}{{ i }}{% endfor %}",
        )
    response = client_for(alpha.host).get("/about/")
    assert response.status_code == 200
    assert "About us" in response.content.decode()
    with schema_context(alpha.nation.schema_name):
        assert "limit" in TemplateOverride.objects.get(name="page.liquid").last_error


def test_a_working_override_and_a_theme_switch_change_the_site(alpha):
    make_page(alpha.nation, kind="basic", title="About", body="<p>About us</p>")
    with schema_context(alpha.nation.schema_name):
        TemplateOverride.objects.create(
            theme="default", name="page.liquid", source="<h1>Custom {{ page.title | upcase }}</h1>"
        )
    client = client_for(alpha.host)
    assert "<h1>Custom ABOUT</h1>" in client.get("/about/").content.decode()
    with schema_context(alpha.nation.schema_name):
        SiteSettings.objects.update_or_create(
            pk=1, defaults={"theme": "civic", "primary_colour": "#ffdd00"}
        )
    cache.clear()
    body = client.get("/about/").content.decode()
    assert 'class="civic' in body and "<h1>Custom" not in body  # overrides belong to a theme
    assert "--on-primary:#111418" in body  # dark text on a light colour (contrast)
    css = client.get("/theme.css").content.decode()
    assert "Clarity" in css and "Civic" in css


def test_values_are_escaped_in_templates(alpha):
    make_page(alpha.nation, kind="basic", title="<script>alert(1)</script>", slug="xss")
    body = client_for(alpha.host).get("/xss/").content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body
