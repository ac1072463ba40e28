"""The nation's public site: pages through the theme, forms, feeds, embeds.

Anonymous GETs without a query string are cached per nation (the cache key function prefixes the
schema) under the site's version number, which every publish bumps (actions.site_changed)."""

from __future__ import annotations

import copy
import json
import mimetypes
import time
from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

import icalendar
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import prefetch_related_objects
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import redirect
from django.utils import timezone, translation
from django.utils.feedgenerator import Rss201rev2Feed
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from django_ratelimit.core import _get_ip, _split_rate  # its IP masking and rate syntax

from config.cache import incr_counters_and_read
from config.views import rate_limited
from themes import engine

from . import intake
from .actions import (
    SITE_VERSION_KEY,
    FormClosed,
    page_count,
    site_settings,
    site_version,
    submission_record,
)
from .forms import PublicForm, read_token
from .models import Page, Redirect, live_pages
from .public import (
    base_url,
    overrides_for,
    page_data,
    page_dict,
    render_site,
    upcoming_events,
)

PAGE_CACHE_SECONDS = 300


def cached_page(view):
    """Serve a stored copy of the response to anonymous-looking GETs (no query string)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method != "GET" or request.GET:
            return view(request, *args, **kwargs)
        # One round trip for the site's version and the stored copy, which names the version it
        # was rendered under: a copy from before the last publish is never served.
        key = f"site:page:{translation.get_language()}:{request.path}"
        found = cache.get_many([SITE_VERSION_KEY, key])
        version = found.get(SITE_VERSION_KEY)
        if version is None:
            version = site_version()
        stored = found.get(key)
        if stored is not None and stored[0] == version:
            _version, content, content_type = stored
            response = HttpResponse(content, content_type=content_type)
            response["X-Cache"] = "hit"
            return response
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.streaming:
            cache.set(
                key, (version, response.content, response["Content-Type"]), PAGE_CACHE_SECONDS
            )
            response["X-Cache"] = "miss"
        return response

    return wrapper


# (schema, slug) -> (site version, page): the published pages this process has looked up.
_pages: dict[tuple[str, str], tuple[int, Page]] = {}
MAX_PAGES = 5000


def _live_page(slug: str, version: int | None = None) -> Page | None:
    """The live page at /<slug>/. Remembered per process under the site's version, which every
    publish, edit, unpublish or delete moves (actions.site_changed) — the same rule as the page
    cache — and checked live again on each use. Saves the ORM query (with its two joins) that a
    form POST and every uncached view paid first. Returns a copy the caller may change.
    `version`: the site's version if the caller has just read it (a form POST reads it with its
    rate limits)."""
    if version is None:
        version = site_version()
    key = (connection.schema_name, slug)
    now = timezone.now()
    entry = _pages.get(key)
    if entry is not None and entry[0] == version and entry[1].is_live(now):
        return copy.copy(entry[1])
    found = live_pages(now).select_related("social_image", "blog").filter(slug=slug).first()
    if found is not None:
        if found.kind == Page.Kind.SURVEY:  # its form needs them; remembered with the page
            prefetch_related_objects([found], "survey_questions")
        if len(_pages) >= MAX_PAGES:
            _pages.clear()
        _pages[key] = (version, copy.copy(found))
    return found


def not_found(request, s=None):
    s = s or site_settings()
    return render_site(
        request,
        "not_found.liquid",
        {"message": s.not_found_text},
        title=_("Page not found"),
        status=404,
        noindex=True,
        s=s,
    )


@cached_page
def home(request):
    s = site_settings()
    if s.home_page_id:
        page = _live_page(s.home_page.slug) if s.home_page else None
        if page is not None:
            return _render_page(request, page, s)
    actions = live_pages().filter(
        kind__in=["petition", "signup", "volunteer", "survey", "donation", "blog"]
    )[:6]
    return render_site(
        request,
        "home.liquid",
        {"actions": [page_dict(p) for p in actions], "events": upcoming_events(5)},
        title=s.title or request.tenant.name,
        description=s.tagline,
        s=s,
    )


def _render_page(request, page: Page, s, *, form=None, status=200, draft_theme=False, embed=False):
    template, data = page_data(request, page, s, form=form, embed=embed)
    if embed:
        return _embed_response(request, page, data.get("form", ""), status=status)
    return render_site(
        request,
        template,
        data,
        title=page.seo_title or page.title,
        description=page.seo_description or page.intro,
        image=page.social_image,
        status=status,
        draft_theme=draft_theme,
        noindex=draft_theme,
        s=s,
    )


@csrf_exempt  # see forms.py: signed form token + Origin check instead of a cookie
@cached_page
def page(request, slug: str):
    s = SimpleLazyObject(site_settings)  # a signature that succeeds never reads them
    version, busy = None, False
    if request.method == "POST":
        limited, version, busy = _post_limits(request, slug)
        if limited:
            return rate_limited(request)
    found = _live_page(slug, version)
    if found is None:
        moved = Redirect.objects.filter(old_path=request.path).first()
        if moved is not None:
            return HttpResponseRedirect(moved.new_path, status=301)
        return not_found(request, s)
    if request.method == "POST":
        return _submit(request, found, s, busy=busy)
    return _render_page(request, found, s)


@csrf_exempt
@xframe_options_exempt
def embed(request, slug: str):
    version, busy = None, False
    if request.method == "POST":
        limited, version, busy = _post_limits(request, slug)
        if limited:
            return rate_limited(request)
    found = _live_page(slug, version)
    if found is None or not found.has_form:
        raise Http404
    s = SimpleLazyObject(site_settings)
    if request.method == "POST":
        return _submit(request, found, s, embed=True, busy=busy)
    return _render_page(request, found, s, embed=True)


def _embed_response(request, page: Page, form_html, status=200, thanks: str = ""):
    from django.shortcuts import render

    from .public import colour_vars

    return render(
        request,
        "site/embed.html",
        {
            "page": page,
            "form_html": form_html,
            "vars": colour_vars(site_settings()),
            "thanks": thanks,
            "version": site_version(),
        },
        status=status,
    )


def _origin_ok(request) -> bool:
    """A browser says where a POST comes from; only this host's pages (and the iframes it
    serves to other sites) may post here."""
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.get_host()


def _rate_limited(request, page: Page) -> bool:
    """Whether this POST to `page` is over its per-IP or per-page limit (the donation page
    uses it too)."""
    return _post_limits(request, page.slug)[0]


def _post_limits(request, slug: str) -> tuple[bool, int | None, bool]:
    """Per visitor IP and per page, in fixed windows; the site's version, which the page lookup
    needs next; and whether the form intake is working off a backlog (then this submission
    joins it). One Redis round trip for all (django-ratelimit took three per limit, and the
    version one more)."""
    if not settings.RATELIMIT_ENABLE:
        return False, None, bool(cache.get(intake.BUSY_KEY))
    now = int(time.time())
    limits = []
    for group, ident, rate in (
        ("ip", _get_ip(request), settings.SITE_FORM_IP_RATE),
        ("page", slug, settings.SITE_FORM_PAGE_RATE),
    ):
        count, period = _split_rate(rate)
        limits.append((f"site:rl:{group}:{ident}:{period}:{now // period}", count, period))
    counts, (version, busy) = incr_counters_and_read(
        cache,
        [key for key, _, _ in limits],
        max(p for _, _, p in limits) + 1,
        read=[SITE_VERSION_KEY, intake.BUSY_KEY],
    )
    limited = any(used > limit for used, (_, limit, _) in zip(counts, limits, strict=True))
    return limited, version, bool(busy)


def _submit(request, page: Page, s, *, embed: bool = False, busy: bool = False):
    if not _origin_ok(request):
        return HttpResponseForbidden(_("This form can only be sent from this site."))
    if not page.has_form:
        return HttpResponse(status=405)
    nation = request.tenant
    wording = read_token(request.POST.get("form_token", ""), page)
    form = PublicForm(
        request.POST, page=page, wording=wording or "", country=nation.country or "FR"
    )
    if request.POST.get("website"):  # honeypot filled: a bot. Look like success, keep nothing.
        return _thanks_redirect(page, "", embed)
    if wording is None:
        form.is_valid()
        form.add_error(
            None, _("This form has expired. Please check your details and send it again.")
        )
        from .forms import consent_wording, form_token

        fresh = consent_wording(page, nation.name)
        form.data = form.data.copy()
        form.data["form_token"] = form_token(page, fresh)
        form.fields["consent"].label = fresh
        return _render_page(request, page, s, form=form, status=400, embed=embed)
    if not form.is_valid():
        return _render_page(request, page, s, form=form, status=400, embed=embed)
    data = dict(form.cleaned_data)
    data["answers"] = form.answers()
    visitor = {
        "page": page,
        "token": data.pop("nonce", ""),
        "recruiter_code": data.pop("recruiter", ""),
        "consent_wording": wording,
        "language": translation.get_language(),
        "base_url": base_url(request),
    }
    for plumbing in ("form_token", "embed", "website"):
        data.pop(plumbing, None)
    with intake.inline_slot(busy=busy) as inline:
        if not inline and intake.queues(page):
            return _thanks_redirect(page, intake.intake_receive(data=data, **visitor), embed)
        try:
            result = submission_record(data=data, **visitor)
        except FormClosed as exc:
            form.add_error(None, str(exc))
            return _render_page(request, page, s, form=form, status=409, embed=embed)
        except ValidationError:
            form.add_error("email", _("Enter a valid email address."))
            return _render_page(request, page, s, form=form, status=400, embed=embed)
    from nations.people.actions import recruiter_code_for

    status = "waitlist" if result.waitlisted else ""
    return _thanks_redirect(page, recruiter_code_for(result.person), embed, status)


def _thanks_redirect(page: Page, code: str, embed: bool, status: str = ""):
    target = f"/{page.slug}/{'embed/thanks' if embed else 'thanks'}/"
    query = "&".join(
        p for p in (f"share={code}" if code else "", f"status={status}" if status else "") if p
    )
    return HttpResponseRedirect(f"{target}?{query}" if query else target, status=303)


def _thanks_message(page: Page, request) -> str:
    if request.GET.get("status") == "waitlist":
        return _(
            "The event is full: you are on the waiting list. We will write to you if a place frees up."
        )
    if page.thanks_message:
        return page.thanks_message
    return {
        "petition": _("Your signature is counted. Check your inbox for a confirmation."),
        "event": _("Your place is booked. Check your inbox for the details."),
    }.get(page.kind, _("Your answer is recorded. Check your inbox for a confirmation."))


def thanks(request, slug: str):
    found = _live_page(slug)
    if found is None or not found.has_form:
        raise Http404
    code = request.GET.get("share", "")[:16]
    share_url = (
        f"{base_url(request)}/{found.slug}/?recruiter={code}"
        if code.replace("-", "").replace("_", "").isalnum()
        else ""
    )
    return render_site(
        request,
        "thanks.liquid",
        {
            "page": page_dict(found),
            "thanks": {"message": _thanks_message(found, request), "share_url": share_url},
        },
        title=_("Thank you!"),
        noindex=True,
    )


@xframe_options_exempt
def embed_thanks(request, slug: str):
    found = _live_page(slug)
    if found is None or not found.has_form:
        raise Http404
    return _embed_response(request, found, "", thanks=_thanks_message(found, request))


@require_GET
def count(request, slug: str):
    found = _live_page(slug)
    if found is None:
        raise Http404
    response = JsonResponse({"count": page_count(found), "goal": found.goal or 0})
    response["Cache-Control"] = "max-age=5"
    return response


@require_GET
def calendar(request, slug: str):
    found = _live_page(slug)
    if found is None or found.kind != Page.Kind.EVENT or not found.starts_at:
        raise Http404
    cal = icalendar.Calendar()
    cal.add("prodid", f"-//Nations//{request.tenant.slug}//")
    cal.add("version", "2.0")
    event = icalendar.Event()
    event.add("uid", f"page-{found.pk}@{request.get_host()}")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", found.starts_at)
    event.add("dtend", found.ends_at or found.starts_at + timedelta(hours=2))
    event.add("summary", found.title)
    event.add("description", found.intro)
    event.add("location", ", ".join(p for p in (found.venue, found.address) if p))
    event.add("url", f"{base_url(request)}{found.get_absolute_url()}")
    event.add("status", "CANCELLED" if found.cancelled else "CONFIRMED")
    cal.add_component(event)
    response = HttpResponse(cal.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{found.slug}.ics"'
    return response


@require_GET
def feed(request, slug: str):
    blog = _live_page(slug)
    if blog is None or blog.kind != Page.Kind.BLOG:
        raise Http404
    root = base_url(request)
    rss = Rss201rev2Feed(
        title=blog.title,
        link=f"{root}{blog.get_absolute_url()}",
        description=blog.intro or blog.title,
        language=translation.get_language(),
    )
    for post in live_pages().filter(blog=blog).order_by("-publish_at", "-id")[:20]:
        rss.add_item(
            title=post.title,
            link=f"{root}{post.get_absolute_url()}",
            description=post.intro or "",
            pubdate=post.publish_at or post.created_at,
            unique_id=f"{root}{post.get_absolute_url()}",
            categories=post.topics,
        )
    return HttpResponse(rss.writeString("utf-8"), content_type="application/rss+xml; charset=utf-8")


@require_GET
def events(request):
    return render_site(
        request,
        "list.liquid",
        {"page": {"title": _("Upcoming events"), "kind": "list"}, "events": upcoming_events(50)},
        title=_("Upcoming events"),
    )


@require_GET
def sitemap(request):
    root = base_url(request)
    rows = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    rows.append(f"<url><loc>{root}/</loc></url>")
    for slug, updated in live_pages().values_list("slug", "updated_at"):
        rows.append(
            f"<url><loc>{root}/{slug}/</loc><lastmod>{updated.date().isoformat()}</lastmod></url>"
        )
    rows.append("</urlset>")
    return HttpResponse("\n".join(rows), content_type="application/xml")


@require_GET
def robots(request):
    s = site_settings()
    lines = ["User-agent: *"]
    lines += ["Disallow: /panel/", "Disallow: /*/embed/"] if s.allow_indexing else ["Disallow: /"]
    extra = [line for line in s.robots_extra.splitlines() if line.strip() and ":" in line][:50]
    lines += extra
    lines.append(f"Sitemap: {base_url(request)}/sitemap.xml")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")


@require_GET
def theme_css(request):
    """The theme's stylesheet (its parent's first), with the nation's overrides."""
    s = site_settings()
    theme = engine.THEMES.get(s.theme) or engine.THEMES["default"]
    draft = request.GET.get("draft") == "1" and request.user.is_authenticated
    overrides = overrides_for(theme.slug, draft=draft)
    parts = []
    if theme.parent:
        parts.append(engine.original_source(theme.parent, "theme.css") or "")
    parts.append(
        overrides.get("theme.css") or engine.original_source(theme.slug, "theme.css") or ""
    )
    response = HttpResponse("\n".join(parts)[: engine.CSS_LIMIT * 2], content_type="text/css")
    if not draft:
        response["Cache-Control"] = "public, max-age=3600"
    return response


@require_GET
def embed_js(request):
    """`<script src=".../embed.js" data-page="slug">`: puts the page's form in an iframe that
    grows with its content."""
    origin = base_url(request)
    script = (
        "(function(){var s=document.currentScript;if(!s)return;var slug=s.getAttribute('data-page');"
        "if(!/^[a-z0-9-]+$/.test(slug||''))return;var f=document.createElement('iframe');"
        f"f.src={json.dumps(origin)}+'/'+slug+'/embed/';f.title=s.getAttribute('data-title')||slug;"
        "f.style.cssText='width:100%;max-width:480px;border:0;min-height:560px';f.loading='lazy';"
        "s.parentNode.insertBefore(f,s.nextSibling);window.addEventListener('message',function(e){"
        f"if(e.origin!=={json.dumps(origin)}||e.source!==f.contentWindow)return;"
        "var h=e.data&&e.data.nationsHeight;if(h>0&&h<5000)f.style.height=h+'px';});})();"
    )
    response = HttpResponse(script, content_type="text/javascript")
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_GET
def language(request):
    code = request.GET.get("to", "")
    target = request.GET.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    response = redirect(target)
    if code in dict(settings.LANGUAGES):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, code, max_age=365 * 24 * 3600, samesite="Lax"
        )
    return response


@require_GET
def media(request, path: str):
    """The nation's uploaded files, from its own folder only (MEDIA_ROOT/<schema>/…)."""
    schema, _sep, name = path.partition("/")
    if schema != connection.schema_name or not name or ".." in name.split("/"):
        raise Http404
    if not default_storage.exists(name):
        raise Http404
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if not content_type.startswith("image/") or content_type == "image/svg+xml":
        raise Http404
    response = FileResponse(default_storage.open(name), content_type=content_type)
    response["Cache-Control"] = "public, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def bad_request(request):
    return HttpResponseBadRequest()
