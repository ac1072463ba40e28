"""The Website area of the control panel: pages, media, menu, theme, site settings.

Every view is scoped by staff_required("site.edit") (submissions: people.view too, since they
show people); the schema scopes the rows to the nation."""

from __future__ import annotations

import csv
from datetime import datetime

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.db.models import Count
from django.http import Http404, HttpResponseNotAllowed, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tenants.utils import schema_context

from nations.panel.access import staff_required
from themes import engine

from . import actions, intake
from .media import MAX_UPLOAD_BYTES, ImageRejected
from .models import Media, MenuItem, Page, Redirect, SurveyQuestion, TemplateOverride
from .panel_forms import (
    MediaForm,
    NewPageForm,
    PageForm,
    QuestionForm,
    SiteSettingsForm,
    ThemeForm,
)
from .public import base_url, page_data, render_site


def _ctx(tab: str, **extra):
    return {"section": "website", "tab": tab, **extra}


@staff_required("site.edit")
def pages(request):
    rows = (
        Page.objects.filter(blog__isnull=True)
        .annotate(n_submissions=Count("submissions"))
        .order_by("position", "id")
    )
    now = timezone.now()
    return render(
        request, "site/panel/pages.html", _ctx("pages", pages=rows, now=now, new_form=NewPageForm())
    )


@staff_required("site.edit")
def page_new(request):
    form = NewPageForm(request.POST or None, initial={"kind": request.GET.get("kind", "basic")})
    if request.method == "POST" and form.is_valid():
        title = form.cleaned_data["title"]
        base = slugify(title)[:80] or "page"
        slug, n = base, 2
        while Page.objects.filter(slug=slug).exists() or slug in _reserved():
            slug, n = f"{base}-{n}", n + 1
        kind = form.cleaned_data["kind"]
        page = actions.page_save(
            page=Page(kind=kind),
            data={
                "title": title,
                "slug": slug,
                "max_guests": 4,
                "blog": Page.objects.filter(kind="blog").first() if kind == "post" else None,
            },
        )
        messages.success(request, _("Page created as a draft. Fill it in, then publish it."))
        return redirect("panel:website:edit", page_id=page.pk)
    return render(request, "site/panel/page_new.html", _ctx("pages", form=form))


def _reserved():
    from .urls import RESERVED_SLUGS

    return RESERVED_SLUGS


@staff_required("site.edit")
def page_edit(request, page_id: int):
    page = get_object_or_404(Page, pk=page_id)
    form = PageForm(request.POST or None, instance=page, kind=page.kind)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.fields}
        actions.page_save(page=page, data=data)
        messages.success(request, _("Page saved."))
        if request.POST.get("then") == "publish":
            actions.page_publish(page=page)
            messages.success(request, _("Page published."))
        return redirect("panel:website:edit", page_id=page.pk)
    return render(request, "site/panel/page_edit.html", _edit_context(request, page, form))


def _edit_context(request, page: Page, form, **builder) -> dict:
    embed = {
        "iframe": f'<iframe src="{base_url(request)}/{page.slug}/embed/" title="{page.title}" '
        'style="width:100%;max-width:480px;border:0;min-height:560px" loading="lazy"></iframe>',
        "script": f'<script src="{base_url(request)}/embed.js" data-page="{page.slug}" async></script>',
    }
    posts = (
        Page.objects.filter(blog=page).order_by("-publish_at", "-id")
        if page.kind == "blog"
        else None
    )
    return _ctx(
        "pages",
        page=page,
        form=form,
        embed=embed if page.has_form else None,
        live=page.is_live(),
        submissions=page.submissions.count() if page.has_form else None,
        posts=posts,
        scheduled=page.status == "published"
        and page.publish_at
        and page.publish_at > timezone.now(),
        **(_builder_context(page, **builder) if page.kind == Page.Kind.SURVEY else {}),
    )


# --- survey question builder (htmx; each form also works as a plain POST) -------------------


def _builder_context(page: Page, *, bound: QuestionForm | None = None, new=None, notice=""):
    items = []
    for question in page.survey_questions.all():
        if bound is not None and bound.question is not None and bound.question.pk == question.pk:
            items.append((question, bound))
        else:
            items.append(
                (question, QuestionForm(page=page, question=question, prefix=f"q{question.pk}"))
            )
    return {
        "question_items": items,
        "new_question": new or QuestionForm(page=page, prefix="new", initial={"kind": "short"}),
        "builder_notice": notice,
    }


def _builder_response(request, page: Page, *, notice: str = "", **builder):
    failed = any(f is not None and f.errors for f in builder.values())
    if request.htmx:
        # 200 even with errors: htmx swaps only successful responses, and the errors are
        # shown next to the fields.
        context = {"page": page, **_builder_context(page, notice=notice, **builder)}
        return render(request, "site/panel/_survey_builder.html", context)
    if failed:
        form = PageForm(instance=page, kind=page.kind)
        context = _edit_context(request, page, form, **builder)
        return render(request, "site/panel/page_edit.html", context, status=400)
    if notice:
        messages.success(request, notice)
    return redirect(reverse("panel:website:edit", kwargs={"page_id": page.pk}) + "#questions")


@staff_required("site.edit")
@require_POST
def survey_question_add(request, page_id: int):
    page = get_object_or_404(Page, pk=page_id, kind=Page.Kind.SURVEY)
    form = QuestionForm(request.POST, page=page, prefix="new")
    if not form.is_valid():
        return _builder_response(request, page, new=form)
    actions.survey_question_save(page=page, **form.cleaned_data)
    return _builder_response(request, page, notice=_("Question added."))


@staff_required("site.edit")
@require_POST
def survey_question(request, page_id: int, question_id: int):
    page = get_object_or_404(Page, pk=page_id, kind=Page.Kind.SURVEY)
    question = get_object_or_404(SurveyQuestion, pk=question_id, page=page)
    action = request.POST.get("action", "save")
    if action in ("up", "down"):
        actions.survey_question_move(question=question, direction=-1 if action == "up" else 1)
        return _builder_response(request, page, notice=_("Question moved."))
    if action == "remove":
        actions.survey_question_remove(question=question)
        return _builder_response(request, page, notice=_("Question removed."))
    if action != "save":
        raise Http404
    form = QuestionForm(request.POST, page=page, question=question, prefix=f"q{question.pk}")
    if not form.is_valid():
        return _builder_response(request, page, bound=form)
    actions.survey_question_save(page=page, question=question, **form.cleaned_data)
    return _builder_response(request, page, notice=_("Question saved."))


@staff_required("site.edit")
@require_POST
def page_action(request, page_id: int, action: str):
    page = get_object_or_404(Page, pk=page_id)
    if action == "publish":
        at = None
        if request.POST.get("at"):
            try:
                at = timezone.make_aware(datetime.fromisoformat(request.POST["at"]))
            except ValueError:
                messages.error(request, _("Pick a valid date and time to schedule."))
                return redirect("panel:website:edit", page_id=page.pk)
        actions.page_publish(page=page, at=at)
        messages.success(
            request, _("Page scheduled.") if at and at > timezone.now() else _("Page published.")
        )
    elif action == "unpublish":
        actions.page_unpublish(page=page)
        messages.success(request, _("Page unpublished: visitors no longer see it."))
    elif action in ("up", "down"):
        actions.page_move(page=page, direction=-1 if action == "up" else 1)
        return redirect("panel:website")
    elif action == "delete":
        target = request.POST.get("redirect_to", "").strip()
        if target and not target.startswith("/"):
            target = ""
        actions.page_delete(page=page, redirect_to=target)
        messages.success(request, _("Page deleted."))
        return redirect("panel:website")
    else:
        raise Http404
    return redirect("panel:website:edit", page_id=page.pk)


@staff_required("site.edit")
def page_preview(request, page_id: int):
    """The page as visitors will see it, drafts and draft theme files included; never cached."""
    page = get_object_or_404(Page, pk=page_id)
    s = actions.site_settings()
    template, data = page_data(request, page, s)
    response = render_site(
        request, template, data, title=page.title, draft_theme=True, noindex=True, s=s
    )
    response["Cache-Control"] = "no-store"
    return response


@staff_required("people.view")
def page_submissions(request, page_id: int):
    page = get_object_or_404(Page, pk=page_id)
    rows = page.submissions.select_related("person").order_by("-created_at", "-id")
    if request.GET.get("format") == "csv":
        return _submissions_csv(page, rows)
    paginator = Paginator(rows, 50)
    current = paginator.get_page(request.GET.get("page"))
    questions = list(page.survey_questions.values_list("label", flat=True))
    return render(
        request,
        "site/panel/submissions.html",
        _ctx(
            "pages",
            page=page,
            rows=current,
            total=paginator.count,
            questions=questions,
            waiting=page.intakes.filter(processed_at__isnull=True).count(),
            failed=list(intake.failed(page)[:100]),
        ),
    )


@require_POST
@staff_required("people.edit")
def intake_retry(request, page_id: int):
    """Record again the responses the form intake could not record (their data was kept)."""
    page = get_object_or_404(Page, pk=page_id)
    count = intake.retry(page=page)
    messages.success(
        request,
        _("%(count)s response(s) will be recorded again in a moment.") % {"count": count},
    )
    return redirect("panel:website:submissions", page.pk)


class _Echo:
    def write(self, value):
        return value


def _submissions_csv(page: Page, rows):
    from nations.people.exports import neutralise

    labels = list(page.survey_questions.values_list("label", flat=True))
    extra = sorted(
        {k for a in rows.values_list("answers", flat=True)[:1000] for k in a} - set(labels)
    )
    header = [
        "first_name",
        "last_name",
        "email",
        "phone",
        "city",
        "status",
        "guests",
        "at",
        *map(neutralise, labels),
        *map(neutralise, extra),
    ]
    writer = csv.writer(_Echo())
    schema = connection.schema_name

    def lines():
        yield writer.writerow(header)
        # Streaming runs after the routing middleware has switched back to `public`.
        with schema_context(schema):
            yield from _rows()

    def _rows():
        for s in rows.iterator(chunk_size=1000):
            answers = s.answers or {}
            values = [answers.get(k, "") for k in labels + extra]
            values = ["; ".join(v) if isinstance(v, list) else str(v) for v in values]
            p = s.person
            # Visitors typed these: a spreadsheet must show "=HYPERLINK(…)" as text.
            yield writer.writerow(
                [
                    neutralise(p.first_name),
                    neutralise(p.last_name),
                    p.email,
                    p.phone,
                    neutralise(p.city),
                    s.status,
                    s.guests,
                    s.created_at.isoformat(),
                    *map(neutralise, values),
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{page.slug}-responses.csv"'
    return response


@staff_required("site.edit")
def media(request):
    form = MediaForm()
    if request.method == "POST":
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_UPLOAD_BYTES + 64 * 1024:
            messages.error(request, _("This file is too large. The limit is 10 MB."))
            return redirect("panel:website:media")
        form = MediaForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                actions.media_add(upload=form.cleaned_data["file"], alt=form.cleaned_data["alt"])
            except ImageRejected as exc:
                form.add_error("file", str(exc))
            else:
                messages.success(request, _("Image uploaded."))
                return redirect("panel:website:media")
    items = Paginator(Media.objects.all(), 48).get_page(request.GET.get("page"))
    return render(request, "site/panel/media.html", _ctx("media", form=form, items=items))


@staff_required("site.edit")
def media_editor(request):
    """The rich-text editor's image dialog: GET lists the latest images to pick from; POST
    uploads one (same checks as the Images tab: re-encoded, resized, alt text required) and
    answers its address. JSON both ways; errors carry a message for the staff member."""
    if request.method == "POST":
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_UPLOAD_BYTES + 64 * 1024:
            return JsonResponse(
                {"error": _("This file is too large. The limit is 10 MB.")}, status=400
            )
        form = MediaForm(request.POST, request.FILES)
        if not form.is_valid():
            errors = [e for field in ("file", "alt") for e in form.errors.get(field, [])]
            return JsonResponse({"error": " ".join(errors), "fields": form.errors}, status=400)
        try:
            item = actions.media_add(upload=form.cleaned_data["file"], alt=form.cleaned_data["alt"])
        except ImageRejected as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        return JsonResponse(_media_json(item), status=201)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    return JsonResponse({"images": [_media_json(m) for m in Media.objects.all()[:24]]})


def _media_json(item: Media) -> dict:
    return {
        "id": item.pk,
        "url": item.file.url,
        "alt": item.alt,
        "width": item.width,
        "height": item.height,
    }


@staff_required("site.edit")
def menu(request):
    pages_ = Page.objects.exclude(kind=Page.Kind.POST).order_by("position", "id")
    if request.method == "POST":
        items = []
        labels = request.POST.getlist("label")
        targets = request.POST.getlist("target")
        for label, target in zip(labels, targets, strict=False):
            label = label.strip()[:60]
            if not label or not target:
                continue
            if target.startswith("page:"):
                page = pages_.filter(pk=target[5:]).first() if target[5:].isdigit() else None
                if page:
                    items.append((label, page, ""))
            elif target.startswith("/") or target.startswith("https://"):
                items.append((label, None, target[:300]))
        actions.menu_replace(items=items)
        messages.success(request, _("Menu saved."))
        return redirect("panel:website:menu")
    current = [
        {"label": i.label, "target": f"page:{i.page_id}" if i.page_id else i.url}
        for i in MenuItem.objects.select_related("page")
    ]
    rows = current + [{"label": "", "target": ""}] * 3
    return render(request, "site/panel/menu.html", _ctx("menu", rows=rows, pages=pages_))


@staff_required("site.edit")
def theme(request):
    s = actions.site_settings()
    form = ThemeForm(request.POST or None, instance=s)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
            actions.site_changed()
        messages.success(request, _("Theme saved."))
        return redirect("panel:website:theme")
    overrides = {o.name: o for o in TemplateOverride.objects.filter(theme=s.theme)}
    files = [
        {"name": name, "override": overrides.get(name)} for name in engine.theme_files(s.theme)
    ]
    return render(
        request, "site/panel/theme.html", _ctx("theme", form=form, files=files, settings=s)
    )


def _sample_data(request) -> dict:
    page = Page.objects.filter(kind=Page.Kind.PETITION).first() or Page(
        kind="petition", title=_("Example petition"), slug="example", goal=100
    )
    return {
        "page": {"title": page.title, "kind": page.kind, "url": "/"},
        "site": {"title": request.tenant.name},
    }


@staff_required("site.edit")
def theme_file(request, name: str):
    s = actions.site_settings()
    if name not in engine.theme_files(s.theme):
        raise Http404
    original = engine.original_source(s.theme, name) or ""
    override = TemplateOverride.objects.filter(theme=s.theme, name=name).first()
    error = ""
    if request.method == "POST":
        source = request.POST.get("source", "")[: engine.CSS_LIMIT]
        action = request.POST.get("action")
        if action == "revert":
            TemplateOverride.objects.filter(theme=s.theme, name=name).delete()
            actions.site_changed()
            messages.success(request, _("Back to the theme's original %(name)s.") % {"name": name})
            return redirect("panel:website:theme_file", name=name)
        if name.endswith(".liquid"):
            error = engine.check(s.theme, name, source, _sample_data(request))
        if not error:
            override, _created = TemplateOverride.objects.get_or_create(theme=s.theme, name=name)
            override.draft = source
            if action == "publish":
                override.source = source
                override.draft = ""
                override.last_error = ""
                actions.site_changed()
            override.updated_at = timezone.now()
            override.save()
            messages.success(
                request,
                _("Published: visitors now see your version.")
                if action == "publish"
                else _("Draft saved. Preview it, then publish."),
            )
            return redirect("panel:website:theme_file", name=name)
        current = source
    else:
        current = (override.draft or override.source) if override else original
    preview_page = Page.objects.filter(status="published").first()
    return render(
        request,
        "site/panel/theme_file.html",
        _ctx(
            "theme",
            name=name,
            source=current,
            original=original,
            override=override,
            error=error,
            preview_page=preview_page,
        ),
    )


@staff_required("site.edit")
def site_settings_view(request):
    s = actions.site_settings()
    redirects = "\n".join(f"{r.old_path} -> {r.new_path}" for r in Redirect.objects.all())
    form = SiteSettingsForm(request.POST or None, instance=s, initial={"redirects": redirects})
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
            Redirect.objects.all().delete()
            Redirect.objects.bulk_create(
                Redirect(old_path=old, new_path=new)
                for old, new in dict(form.cleaned_data["redirects"]).items()
            )
            actions.site_changed()
        messages.success(request, _("Site settings saved."))
        return redirect("panel:website:settings")
    return render(request, "site/panel/settings.html", _ctx("settings", form=form))
