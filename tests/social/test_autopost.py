"""Automatic posts when a blog post or an event is published: the nation's template, once per
page, only to accounts with automatic posts on."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from nations.comms import pipeline
from nations.site import actions as site
from nations.site.models import Page
from nations.social import actions
from nations.social.models import SocialPost
from nations.social.networks import post_length


def _page(kind: str, title: str, slug: str, **extra) -> Page:
    return site.page_save(page=Page(kind=kind), data={"title": title, "slug": slug, **extra})


def _publish(page, capture, **kwargs) -> None:
    """Publish and run what the publish queued after commit, except the broker sends."""
    with capture(execute=False) as callbacks:
        site.page_publish(page=page, **kwargs)
    for callback in callbacks:
        if "autopost" in getattr(callback, "__qualname__", ""):
            callback()


def test_publishing_a_blog_post_posts_it_once(
    x_account, mastodon_account, social, django_capture_on_commit_callbacks
):
    actions.account_set_autopost(account=x_account, on=True)
    actions.account_set_autopost(account=mastodon_account, on=True)
    actions.autopost_settings_save(template="New: {{ page.title }} {{ page.url }}")
    blog = _page("blog", "News", "news")
    post_page = _page("post", "We won the vote", "we-won", blog=blog)
    _publish(post_page, django_capture_on_commit_callbacks)
    _publish(post_page, django_capture_on_commit_callbacks)  # republished: no second post
    site.page_unpublish(page=post_page)
    _publish(post_page, django_capture_on_commit_callbacks)
    post = SocialPost.objects.get()
    assert post.page_id == post_page.pk
    assert post.text == "New: We won the vote http://alpha.localhost:8000/we-won/"
    assert pipeline.pump("social")["sent"] == 2
    assert [t["text"] for t in social.tweets] == [post.text]
    assert [s["text"] for s in social.statuses] == [post.text]


def test_an_event_is_posted_but_not_a_basic_page_nor_to_accounts_without_autopost(
    x_account, mastodon_account, social, django_capture_on_commit_callbacks
):
    actions.account_set_autopost(account=mastodon_account, on=True)
    actions.autopost_settings_save(
        template="{{ page.title }} — {{ page.starts_at }} {{ page.url }}"
    )
    event = _page(
        "event", "Town hall", "town-hall",
        starts_at=timezone.now() + timedelta(days=3), event_timezone="UTC",
    )  # fmt: skip
    basic = _page("basic", "About us", "about")
    _publish(basic, django_capture_on_commit_callbacks)
    _publish(event, django_capture_on_commit_callbacks)
    post = SocialPost.objects.get()
    assert post.text.startswith("Town hall — ") and post.text.endswith("/town-hall/")
    assert list(post.accounts.all()) == [mastodon_account]
    pipeline.pump("social")
    assert social.recorded("POST", "/2/tweets") == [] and len(social.statuses) == 1


def test_a_long_title_is_shortened_for_x_keeping_the_link(
    x_account, social, django_capture_on_commit_callbacks
):
    actions.account_set_autopost(account=x_account, on=True)
    actions.autopost_settings_save(template="{{ page.title }}: {{ page.intro }} {{ page.url }}")
    page = _page(
        "event", "Very long title " * 12, "long", intro="And more " * 30, starts_at=timezone.now()
    )
    _publish(page, django_capture_on_commit_callbacks)
    pipeline.pump("social")
    [tweet] = social.tweets
    assert tweet["text"].endswith("… http://alpha.localhost:8000/long/")
    assert post_length(tweet["text"], "x") <= 280
    assert tweet["text"].startswith("Very long title")


def test_a_page_scheduled_for_later_is_posted_when_it_goes_live(
    x_account, social, django_capture_on_commit_callbacks
):
    actions.account_set_autopost(account=x_account, on=True)
    page = _page("event", "Later", "later", starts_at=timezone.now() + timedelta(days=9))
    at = timezone.now() + timedelta(days=1)
    _publish(page, django_capture_on_commit_callbacks, at=at)
    post = SocialPost.objects.get()
    assert post.status == "scheduled" and post.scheduled_at == at
    assert actions.posts_launch_due() == 0
    assert actions.posts_launch_due(now=at + timedelta(seconds=30)) == 1


def test_a_broken_template_is_refused_with_the_liquid_error(social, staff):
    response = staff.post(
        "/panel/communication/social/automatic/", {"template": "{{ page.title | nosuch }}"}
    )
    assert response.status_code == 200 and "The template has an error" in response.content.decode()
    ok = staff.post("/panel/communication/social/automatic/", {"template": "Lu : {{ page.title }}"})
    assert ok.status_code == 302
    assert actions.autopost_settings().template == "Lu : {{ page.title }}"


def test_the_automatic_post_runs_in_its_nation_whatever_schema_commits(
    x_account, social, in_alpha, django_capture_on_commit_callbacks
):
    """A command publishing several nations' pages commits outside their schemas."""
    actions.account_set_autopost(account=x_account, on=True)
    page = _page("post", "Seeded", "seeded")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        site.page_publish(page=page)
    connection.set_schema_to_public()
    for callback in callbacks:
        if "autopost" in getattr(callback, "__qualname__", ""):
            callback()
    connection.set_tenant(in_alpha.nation)
    assert SocialPost.objects.get().text == "Seeded http://alpha.localhost:8000/seeded/"
