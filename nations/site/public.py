"""What a visitor's page is made of: the data handed to the theme's Liquid templates, the
<head> (SEO, Open Graph, colours, analytics from an allow-list) and the form's HTML."""

from __future__ import annotations

import json
import re
import zoneinfo
from typing import Any
from urllib.parse import quote

from django.conf import settings as django_settings
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils import formats, timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from markupsafe import Markup

from themes import engine

from .actions import event_is_over, event_seats_taken, page_count, site_settings, site_version
from .forms import PublicForm, consent_wording, form_token
from .models import MenuItem, Page, SiteSettings, Submission, TemplateOverride, live_pages

FONTS = {
    "system": 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
    "humanist": 'Optima, Candara, "Noto Sans", "Segoe UI", Seravek, sans-serif',
    "serif": 'Charter, "Bitstream Charter", "Sitka Text", Cambria, Georgia, serif',
    "rounded": 'ui-rounded, "Hiragino Maru Gothic ProN", Quicksand, Comfortaa, "Arial Rounded MT", sans-serif',
    "condensed": '"Roboto Condensed", "Arial Narrow", "Helvetica Neue Condensed", sans-serif-condensed, sans-serif',
}
HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def _luminance(hex_colour: str) -> float:
    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def on_colour(background: str) -> str:
    """White or near-black text, whichever reads better on `background` (WCAG contrast)."""
    return (
        "#ffffff"
        if contrast(background, "#ffffff") >= contrast(background, "#111418")
        else "#111418"
    )


def colour_vars(s: SiteSettings) -> str:
    primary = s.primary_colour if HEX.match(s.primary_colour or "") else "#3730a3"
    accent = s.accent_colour if HEX.match(s.accent_colour or "") else "#b42318"
    link = primary if contrast(primary, "#ffffff") >= 4.5 else "#1b1f24"
    font = FONTS.get(s.font, FONTS["system"])
    return (
        f":root{{--primary:{primary};--on-primary:{on_colour(primary)};--accent:{accent};"
        f"--on-accent:{on_colour(accent)};--link:{link};--font:{font}}}"
    )


def analytics_snippet(s: SiteSettings) -> str:
    """Only the providers we know, with ids we validated: never staff-written script."""
    site_id = s.analytics_id or ""
    if s.analytics == SiteSettings.Analytics.PLAUSIBLE and re.fullmatch(
        r"[a-z0-9.-]{3,100}", site_id
    ):
        return f'<script defer data-domain="{escape(site_id)}" src="https://plausible.io/js/script.js"></script>'
    if s.analytics == SiteSettings.Analytics.GOOGLE and re.fullmatch(r"G-[A-Z0-9]{4,20}", site_id):
        return (
            f'<script async src="https://www.googletagmanager.com/gtag/js?id={site_id}"></script>'
            "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}"
            f"gtag('js',new Date());gtag('config','{site_id}',{{anonymize_ip:true}});</script>"
        )
    host = s.analytics_host or ""
    if (
        s.analytics == SiteSettings.Analytics.MATOMO
        and re.fullmatch(r"[0-9]{1,6}", site_id)
        and re.fullmatch(r"[a-z0-9.-]{3,200}", host)
    ):
        return (
            "<script>var _paq=window._paq=window._paq||[];_paq.push(['trackPageView']);"
            f"(function(){{var u='https://{host}/';_paq.push(['setTrackerUrl',u+'matomo.php']);"
            f"_paq.push(['setSiteId','{site_id}']);var g=document.createElement('script');"
            "g.async=true;g.src=u+'matomo.js';document.head.appendChild(g)})();</script>"
        )
    return ""


def base_url(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


def overrides_for(theme: str, *, draft: bool = False) -> dict[str, str]:
    rows = TemplateOverride.objects.filter(theme=theme).values_list("name", "source", "draft")
    result = {}
    for name, source, draft_source in rows:
        value = (draft_source or source) if draft else source
        if value:
            result[name] = value
    return result


def media_dict(media) -> dict | None:
    return {"url": media.file.url, "alt": media.alt} if media else None


def nation_timezone(s: SiteSettings, nation) -> zoneinfo.ZoneInfo:
    for name in (s.time_zone, getattr(nation, "timezone", ""), "UTC"):
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
    return zoneinfo.ZoneInfo("UTC")


def event_context(page: Page, s: SiteSettings | None = None) -> dict[str, Any]:
    tz_name = page.event_timezone or (s.time_zone if s else "") or "UTC"
    try:
        tz = zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz, tz_name = zoneinfo.ZoneInfo("UTC"), "UTC"
    when = ""
    if page.starts_at:
        local = timezone.localtime(page.starts_at, tz)
        when = formats.date_format(local, "DATETIME_FORMAT")
        if page.ends_at:
            end = timezone.localtime(page.ends_at, tz)
            same_day = end.date() == local.date()
            when += " – " + formats.date_format(
                end, "TIME_FORMAT" if same_day else "DATETIME_FORMAT"
            )
    taken = event_seats_taken(page) if page.capacity else 0
    return {
        "when": when,
        "starts_iso": page.starts_at.isoformat() if page.starts_at else "",
        "timezone": tz_name,
        "venue": page.venue,
        "address": page.address,
        "map_url": page.map_url,
        "capacity": page.capacity,
        "places_left": max((page.capacity or 0) - taken, 0),
        "full": bool(page.capacity and taken >= page.capacity),
        "cancelled": page.cancelled,
        "over": event_is_over(page),
        "ics_url": f"/{page.slug}/calendar.ics",
        "title": page.title,
        "url": page.get_absolute_url(),
    }


def upcoming_events(limit: int = 10) -> list[dict]:
    now = timezone.now()
    events = live_pages(now).filter(
        kind=Page.Kind.EVENT, starts_at__gte=now - timezone.timedelta(hours=3)
    )
    return [event_context(e) for e in events.order_by("starts_at")[:limit]]


def page_dict(page: Page) -> dict[str, Any]:
    date = page.publish_at or page.created_at
    return {
        "title": page.title,
        "intro": page.intro,
        "body": Markup(page.body),  # noqa: S704 - sanitised by nh3 when saved (page_save)
        "url": page.get_absolute_url(),
        "kind": page.kind,
        "kind_label": str(page.get_kind_display()),
        "target": page.target,
        "image": media_dict(page.social_image),
        "topics": page.topics,
        "amounts": page.amounts,
        "date": formats.date_format(timezone.localtime(date), "DATE_FORMAT"),
        "date_iso": date.isoformat(),
    }


FORM_TITLES = {
    "petition": gettext_noop("Sign the petition"),
    "event": gettext_noop("RSVP"),
    "signup": gettext_noop("Join us"),
    "volunteer": gettext_noop("Volunteer"),
    "survey": gettext_noop("Your answers"),
}
SUBMIT_LABELS = {
    "petition": gettext_noop("Sign"),
    "event": gettext_noop("Count me in"),
    "signup": gettext_noop("Join"),
    "volunteer": gettext_noop("I'll help"),
    "survey": gettext_noop("Send my answers"),
}


def form_html(request, page: Page, form: PublicForm | None, *, embed: bool = False) -> str:
    nation = request.tenant
    wording = consent_wording(page, nation.name)
    if form is None:
        form = PublicForm(
            page=page,
            wording=wording,
            initial={
                "form_token": form_token(page, wording),
                "recruiter": request.GET.get("recruiter", "")[:16],
                "embed": "1" if embed else "",
            },
        )
    waitlist = False
    if page.kind == Page.Kind.EVENT and page.capacity:
        waitlist = event_seats_taken(page) >= page.capacity
    return render_to_string(
        "site/_public_form.html",
        {
            "form": form,
            "page": page,
            "action": f"/{page.slug}/embed/" if embed else f"/{page.slug}/",
            "submit_label": _("Join the waiting list")
            if waitlist
            else _(SUBMIT_LABELS.get(page.kind, "Send")),
            "waitlist": waitlist,
        },
        request=None,
    )


def counter_dict(page: Page) -> dict[str, Any]:
    count = page_count(page)
    goal = page.goal or 0
    label = {
        "petition": translation.ngettext("signature", "signatures", count),
        "event": translation.ngettext("person coming", "people coming", count),
    }.get(page.kind, translation.npgettext("page counter", "person", "people", count))
    return {
        "count": count,
        "goal": goal,
        "percent": min(100, round(count * 100 / goal)) if goal else 0,
        "label": label,
        "url": f"/{page.slug}/count.json",
    }


def page_data(request, page: Page, s: SiteSettings, *, form=None, embed=False) -> tuple[str, dict]:
    """(template name, data) for a page of any kind."""
    data: dict[str, Any] = {"page": page_dict(page)}
    template = "page.liquid"
    if page.kind == Page.Kind.PETITION:
        template = "petition.liquid"
        data["counter"] = counter_dict(page)
        if page.show_signers:
            data["signers"] = [
                {"name": n, "city": c}
                for n, c in Submission.objects.filter(page=page)
                .exclude(public_name="")
                .values_list("public_name", "public_city")[:10]
            ]
    elif page.kind == Page.Kind.EVENT:
        template = "event.liquid"
        data["event"] = event_context(page, s)
        if data["event"]["over"]:
            form = False
    elif page.kind == Page.Kind.BLOG:
        template = "blog.liquid"
        posts = live_pages().filter(blog=page).order_by("-publish_at", "-id")
        topic = request.GET.get("tag", "")[:100]
        if topic:
            posts = posts.filter(topics__contains=[topic])
        paginator = Paginator(posts, 10)
        current = paginator.get_page(request.GET.get("page"))
        extra = f"&tag={quote(topic)}" if topic else ""
        data["posts"] = [page_dict(p) for p in current]
        data["blog"] = {"rss_url": f"/{page.slug}/feed.xml", "topic": topic}
        data["pagination"] = {
            "number": current.number,
            "pages": paginator.num_pages,
            "previous": f"?page={current.previous_page_number()}{extra}"
            if current.has_previous()
            else "",
            "next": f"?page={current.next_page_number()}{extra}" if current.has_next() else "",
        }
    elif page.kind == Page.Kind.POST:
        template = "post.liquid"
        if page.blog_id:
            data["blog"] = {"title": page.blog.title, "url": page.blog.get_absolute_url()}
    elif page.kind == Page.Kind.DONATION:
        from nations.donations.public import donation_context  # the donations app owns the form

        extra = donation_context(request, page, getattr(request, "donate_form", None))
        data["page"].update(extra.pop("page"))
        data.update(extra)
    if page.has_form and form is not False:
        data["form"] = Markup(form_html(request, page, form, embed=embed))  # noqa: S704 - built by us from escaped parts
        data["form_title"] = _(FORM_TITLES.get(page.kind, "Join us"))
    return template, data


def head_html(
    request, s: SiteSettings, *, title: str, description: str, image=None, noindex=False
) -> str:
    image = image or s.social_image
    url = request.build_absolute_uri(request.path)
    parts = [
        f'<meta name="description" content="{escape(description)}">' if description else "",
        f'<link rel="canonical" href="{escape(url)}">',
        '<meta property="og:type" content="website">',
        f'<meta property="og:title" content="{escape(title)}">',
        f'<meta property="og:site_name" content="{escape(s.title)}">',
        f'<meta property="og:url" content="{escape(url)}">',
        f'<meta property="og:description" content="{escape(description)}">' if description else "",
        f'<meta property="og:image" content="{escape(request.build_absolute_uri(image.file.url))}">'
        if image
        else "",
        '<meta name="twitter:card" content="summary_large_image">' if image else "",
        '<meta name="robots" content="noindex">' if noindex or not s.allow_indexing else "",
        f'<link rel="icon" href="{escape(s.favicon.file.url)}">' if s.favicon else "",
        f'<link rel="stylesheet" href="/theme.css?v={site_version()}">',
        f"<style>{colour_vars(s)}</style>",
        analytics_snippet(s),
    ]
    return "\n  ".join(p for p in parts if p)


def language_switch(request) -> str:
    current = translation.get_language()
    links = []
    for code, name in django_settings.LANGUAGES:
        label = {"fr": "Français", "en": "English"}.get(code, str(name))
        if code == current:
            links.append(f'<span lang="{code}" aria-current="true">{label}</span>')
        else:
            links.append(
                f'<a lang="{code}" hreflang="{code}" href="/language/?to={code}&amp;next={quote(request.path)}" rel="nofollow">{label}</a>'
            )
    return " · ".join(links)


def menu(request) -> list[dict]:
    items = MenuItem.objects.select_related("page").filter(models_q_live_or_url())
    return [{"label": i.label, "url": i.href, "current": i.href == request.path} for i in items]


def models_q_live_or_url():
    from django.db.models import Q

    now = timezone.now()
    return Q(page__isnull=True) | (
        Q(page__status=Page.Status.PUBLISHED)
        & (Q(page__publish_at__isnull=True) | Q(page__publish_at__lte=now))
    )


def render_site(
    request,
    template: str,
    data: dict[str, Any],
    *,
    title: str,
    description: str = "",
    image=None,
    status: int = 200,
    draft_theme: bool = False,
    noindex: bool = False,
    s: SiteSettings | None = None,
    layout: bool = True,
) -> HttpResponse:
    """Render through the nation's theme: the page template, then the layout around it."""
    s = s or site_settings()
    overrides = overrides_for(s.theme, draft=draft_theme)
    site = {
        "title": s.title or request.tenant.name,
        "tagline": s.tagline,
        "logo": media_dict(s.logo),
        "menu": menu(request),
        "language": translation.get_language(),
    }
    data = {"site": site, **data}
    inner = engine.render(s.theme, template, data, overrides)
    errors = [inner.error] if inner.error else []
    if not layout:
        return HttpResponse(inner.html, status=status)
    seo_title = title if title == site["title"] else f"{title} · {site['title']}"
    outer = engine.render(
        s.theme,
        "layout.liquid",
        {
            **data,
            "seo": {"title": seo_title},
            "head": Markup(  # noqa: S704 - built by us from escaped parts
                head_html(
                    request, s, title=title, description=description, image=image, noindex=noindex
                )
            ),
            "content_for_layout": Markup(inner.html),  # noqa: S704 - built by us from escaped parts
            "language_switch": Markup(language_switch(request)),  # noqa: S704 - built by us from escaped parts
            "scripts": Markup(f'<script src="{static("site/site.js")}" defer></script>'),  # noqa: S704 - built by us from escaped parts
        },
        overrides,
    )
    if outer.error:
        errors.append(outer.error)
    if inner.error:
        _remember_error(s.theme, template, inner.error)
    if outer.error:
        _remember_error(s.theme, "layout.liquid", outer.error)
    response = HttpResponse(outer.html, status=status)
    if errors and draft_theme:
        response["X-Theme-Error"] = json.dumps(errors)[:500]
    return response


def _remember_error(theme: str, name: str, error: str) -> None:
    """Tell staff (on the theme screen) which override broke; visitors got the original."""
    TemplateOverride.objects.filter(theme=theme, name=name).exclude(source="").exclude(
        last_error=error[:2000]
    ).update(last_error=error[:2000])
