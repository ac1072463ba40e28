"""The public site, at / of every nation host. Fixed names come first: a page cannot take a
slug listed in RESERVED_SLUGS."""

from django.urls import path

from . import views

app_name = "site"

RESERVED_SLUGS = {"panel", "media", "static", "events", "language", "i18n", "theme", "feed"}

urlpatterns = [
    path("", views.home, name="home"),
    path("sitemap.xml", views.sitemap, name="sitemap"),
    path("robots.txt", views.robots, name="robots"),
    path("theme.css", views.theme_css, name="theme_css"),
    path("embed.js", views.embed_js, name="embed_js"),
    path("language/", views.language, name="language"),
    path("events/", views.events, name="events"),
    path("media/<path:path>", views.media, name="media"),
    path("<slug:slug>/", views.page, name="page"),
    path("<slug:slug>/thanks/", views.thanks, name="thanks"),
    path("<slug:slug>/embed/", views.embed, name="embed"),
    path("<slug:slug>/embed/thanks/", views.embed_thanks, name="embed_thanks"),
    path("<slug:slug>/count.json", views.count, name="count"),
    path("<slug:slug>/calendar.ics", views.calendar, name="calendar"),
    path("<slug:slug>/feed.xml", views.feed, name="feed"),
]
