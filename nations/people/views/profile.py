"""People in the control panel: the list (search, sort, pages), a person's profile, and the
edits made on it (details, emails, phones, tags, notes, contact log, consent)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from nations.panel.access import can, staff_required

from .. import actions
from ..models import (
    Channel,
    ConsentChange,
    CustomField,
    Person,
    PersonEmail,
    PersonPhone,
    Tag,
)
from ..profile_forms import (
    ConsentForm,
    ContactForm,
    EmailForm,
    NewPersonForm,
    NoteForm,
    PersonForm,
    PhoneForm,
)
from ..selectors import people_search
from ..timeline import describe

PAGE_SIZE = 50
# Sort keys a visitor may ask for (never a raw column name from the URL), each ending on id so
# rows with equal values keep a stable order from one page to the next. Nullable columns sort
# "empty as lowest" (ASC NULLS FIRST / DESC NULLS LAST): both directions then read one index
# (people.0002), forwards or backwards.
SORTS: dict[str, tuple[tuple[str, bool], ...]] = {
    "name": (("last_name", False), ("first_name", False)),
    "email": (("email", False),),
    "city": (("city", False),),
    "support": (("support_level", True),),
    "created": (("created_at", False),),
    "activity": (("last_activity_at", True),),
}
DEFAULT_SORT = "-created"
# Counting a million rows for every page costs more than the page itself. Unfiltered, the
# total comes from the planner's estimate (pg_class.reltuples, kept fresh by autovacuum) once
# the table is big enough for an estimate to be honest ("about 1,000,000"); below that an
# exact count is cheap. A search counts at most FILTERED_COUNT_CAP matches ("1,000+").
# Pages are OFFSET pages over an index in the chosen order: page 200 skips 10,000 index
# entries, a few milliseconds; nobody pages deeper than a search or a reversed sort gets them.
EXACT_COUNT_BELOW = 20_000
FILTERED_COUNT_CAP = 1_000


def actor_for(request: HttpRequest) -> actions.Actor:
    user = request.user
    return actions.Actor(user_id=user.pk, name=user.get_full_name() or user.email)


def _ordering(sort: str) -> list:
    key = sort.lstrip("-")
    descending = sort.startswith("-")
    order = []
    for column, nullable in SORTS[key]:
        expr = F(column)
        if descending:
            order.append(expr.desc(nulls_last=True) if nullable else expr.desc())
        else:
            order.append(expr.asc(nulls_first=True) if nullable else expr.asc())
    order.append(F("id").desc() if descending else F("id").asc())
    return order


def _estimated_people() -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = 'people_person'::regclass"
        )
        row = cursor.fetchone()
    return row[0] if row and row[0] >= EXACT_COUNT_BELOW else None


def _bulk_action_url() -> str | None:
    """Where the selection form posts: the bulk actions of the segments part, when installed.
    The contract: POST `person` (repeated ids), `q` (the search), `next` (where to come back)."""
    try:
        return reverse("panel:people:bulk")
    except NoReverseMatch:
        return None


@staff_required("people.view")
def people_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    sort = request.GET.get("sort", "")
    if sort.lstrip("-") not in SORTS:
        sort = "" if query else DEFAULT_SORT  # a search is ordered by relevance unless asked
    try:
        page = max(1, min(int(request.GET.get("page", 1)), 100_000))
    except ValueError:
        page = 1
    people = Person.objects.filter(is_erased=False)
    if query:
        people = people_search(query, people)
    if sort:
        people = people.order_by(*_ordering(sort))
    offset = (page - 1) * PAGE_SIZE
    rows = list(
        people.only(
            "first_name",
            "middle_name",
            "last_name",
            "email",
            "phone",
            "city",
            "country",
            "support_level",
            "created_at",
            "last_activity_at",
        )[offset : offset + PAGE_SIZE + 1]
    )
    has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    total, total_is_estimate, total_is_capped = None, False, False
    if query:
        total = len(people.order_by().values_list("pk", flat=True)[: FILTERED_COUNT_CAP + 1])
        total_is_capped = total > FILTERED_COUNT_CAP
        total = min(total, FILTERED_COUNT_CAP)
    else:
        total = _estimated_people()
        total_is_estimate = total is not None
        if total is None:
            total = people.count()
    columns = [
        ("name", _("Name")),
        ("email", _("Email")),
        ("city", _("City")),
        ("support", _("Support")),
        ("created", _("Added")),
        ("activity", _("Last activity")),
    ]
    headers = []
    for key, label in columns:
        current = sort.lstrip("-") == key
        descending = sort.startswith("-")
        # A second click on the sorted column reverses it; dates start newest first.
        next_sort = (
            key
            if (current and descending)
            else f"-{key}"
            if current or key in ("created", "activity")
            else key
        )
        headers.append(
            {
                "key": key,
                "label": label,
                "sort": next_sort,
                "current": current,
                "aria": ("descending" if descending else "ascending") if current else "none",
            }
        )
    return render(
        request,
        "people/person_list.html",
        {
            "people": rows,
            "query": query,
            "sort": sort,
            "headers": headers,
            "page_number": page,
            "has_previous": page > 1,
            "has_next": has_next,
            "start": offset + 1 if rows else 0,
            "end": offset + len(rows),
            "total": total,
            "total_is_estimate": total_is_estimate,
            "total_is_capped": total_is_capped,
            "bulk_url": _bulk_action_url(),
            "can_edit": can(request, "people.edit"),
            "section": "people",
        },
    )


def _person_or_404(person_id: int) -> Person:
    return get_object_or_404(Person, pk=person_id)


def _consents(person: Person) -> list[dict]:
    history = list(ConsentChange.objects.filter(person=person).order_by("-at", "-id")[:200])
    result = []
    for channel in Channel:
        field = actions.CONSENT_FIELD[channel]
        changes = [c for c in history if c.channel == channel]
        result.append(
            {
                "channel": channel,
                "status": getattr(person, field),
                "status_label": person._meta.get_field(field).choices
                and dict(person._meta.get_field(field).choices)[getattr(person, field)],
                "latest": changes[0] if changes else None,
                "history": changes,
            }
        )
    return result


def _profile_context(request: HttpRequest, person: Person, **extra) -> dict:
    custom_fields = list(CustomField.objects.all())
    custom_values = [
        (f, (person.custom or {}).get(f.slug))
        for f in custom_fields
        if f.slug in (person.custom or {})
    ]
    activities = list(person.activities.order_by("-at", "-id")[:100])
    region = request.tenant.country or "FR"
    context = {
        "person": person,
        "emails": list(person.emails.all()),
        "phones": list(person.phones.all()),
        "tags": [t.tag for t in person.taggings.select_related("tag").order_by("tag__name")],
        "known_tags": list(Tag.objects.order_by("name").values_list("name", flat=True)[:300]),
        "lists": [m.people_list for m in person.list_memberships.select_related("people_list")],
        "notes": list(person.notes.all()[:50]),
        "contacts": list(person.contacts.all()[:50]),
        "timeline": [describe(a) for a in activities],
        "timeline_more": person.activities.count() > len(activities)
        if len(activities) == 100
        else False,
        "recruiter": person.recruiter,
        "recruits_count": person.recruits.count(),
        "consents": _consents(person),
        "custom_values": custom_values,
        "social": sorted((person.social or {}).items()),
        "merges": list(person.merges.order_by("-at")),
        "email_form": EmailForm(),
        "phone_form": PhoneForm(default_region=region),
        "note_form": NoteForm(),
        "contact_form": ContactForm(),
        "consent_form": ConsentForm(),
        "can_edit": can(request, "people.edit"),
        "can_export": can(request, "people.export"),
        "can_erase": can_erase(request),
        "section": "people",
    }
    context.update(extra)
    return context


def can_erase(request: HttpRequest) -> bool:
    """Erasure cannot be undone: owners and admins only, whatever a staff member was granted."""
    membership = getattr(request, "membership", None)
    return membership is not None and membership.role in ("owner", "admin")


@staff_required("people.view")
def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    person = _person_or_404(person_id)
    return render(request, "people/person_detail.html", _profile_context(request, person))


@staff_required("people.edit")
def person_new(request: HttpRequest) -> HttpResponse:
    form = NewPersonForm(
        request.POST if request.method == "POST" else None,
        default_region=request.tenant.country or "FR",
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        existing = actions.find_match(email=data["email"], phone=data["phone"])
        if existing is not None:
            messages.warning(
                request,
                _("%(name)s already has this email or phone: here is their profile.")
                % {"name": existing},
            )
            return redirect("panel:people:detail", existing.pk)
        try:
            person = actions.person_create(
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                phone=data["phone"],
                actor=actor_for(request),
            )
        except actions.PersonErased:
            form.add_error(
                None,
                _(
                    "This email or phone belonged to a person whose data was erased at their "
                    "request. Only they can sign up again."
                ),
            )
        else:
            messages.success(request, _("%(name)s was added.") % {"name": person})
            return redirect("panel:people:detail", person.pk)
    return render(request, "people/person_new.html", {"form": form, "section": "people"})


@staff_required("people.edit")
def person_edit(request: HttpRequest, person_id: int) -> HttpResponse:
    person = _person_or_404(person_id)
    if person.is_erased:
        messages.error(request, _("This person's data was erased; there is nothing to edit."))
        return redirect("panel:people:detail", person.pk)
    custom_fields = list(CustomField.objects.all())
    form = PersonForm(
        request.POST if request.method == "POST" else None,
        instance=person,
        custom_fields=custom_fields,
    )
    if request.method == "POST" and form.is_valid():
        diff = actions.person_update(
            person=person, changes=form.changes(), actor=actor_for(request)
        )
        if diff:
            messages.success(request, _("Changes saved."))
        else:
            messages.info(request, _("Nothing changed."))
        return redirect("panel:people:detail", person.pk)
    return render(
        request, "people/person_edit.html", {"form": form, "person": person, "section": "people"}
    )


def _back_to_profile(person: Person, anchor: str = "") -> HttpResponse:
    url = reverse("panel:people:detail", args=[person.pk])
    return redirect(f"{url}#{anchor}" if anchor else url)


def _profile_with_errors(request: HttpRequest, person: Person, **forms) -> HttpResponse:
    return render(
        request,
        "people/person_detail.html",
        _profile_context(request, person, **forms),
        status=400,
    )


@require_POST
@staff_required("people.edit")
def person_emails(request: HttpRequest, person_id: int) -> HttpResponse:
    """Add an email, make one primary, or remove one (`action` = add / primary / remove)."""
    person = _person_or_404(person_id)
    action = request.POST.get("action", "add")
    actor = actor_for(request)
    if action == "add":
        form = EmailForm(request.POST)
        if not form.is_valid():
            return _profile_with_errors(request, person, email_form=form)
        actions.person_email_add(
            person=person,
            address=form.cleaned_data["address"],
            make_primary=form.cleaned_data["make_primary"],
            actor=actor,
        )
        messages.success(request, _("Email added."))
    else:
        email = get_object_or_404(PersonEmail, person=person, pk=request.POST.get("id") or 0)
        if action == "primary":
            actions.person_email_add(
                person=person, address=email.address, make_primary=True, actor=actor
            )
            messages.success(request, _("%(email)s is now the primary email.") % {"email": email})
        elif action == "remove":
            actions.person_email_remove(person=person, email=email, actor=actor)
            messages.success(request, _("Email removed."))
    return _back_to_profile(person, "contact")


@require_POST
@staff_required("people.edit")
def person_phones(request: HttpRequest, person_id: int) -> HttpResponse:
    """Add a phone number, make one primary, or remove one."""
    person = _person_or_404(person_id)
    action = request.POST.get("action", "add")
    actor = actor_for(request)
    region = request.tenant.country or "FR"
    if action == "add":
        form = PhoneForm(request.POST, default_region=region)
        if not form.is_valid():
            return _profile_with_errors(request, person, phone_form=form)
        actions.person_phone_add(
            person=person,
            number=form.cleaned_data["number"],
            make_primary=form.cleaned_data["make_primary"],
            actor=actor,
            default_region=region,
        )
        messages.success(request, _("Phone number added."))
    else:
        phone = get_object_or_404(PersonPhone, person=person, pk=request.POST.get("id") or 0)
        if action == "primary":
            actions.person_phone_add(
                person=person, number=phone.number, make_primary=True, actor=actor
            )
            messages.success(request, _("%(phone)s is now the primary phone.") % {"phone": phone})
        elif action == "remove":
            actions.person_phone_remove(person=person, phone=phone, actor=actor)
            messages.success(request, _("Phone number removed."))
    return _back_to_profile(person, "contact")


@require_POST
@staff_required("people.edit")
def person_tags(request: HttpRequest, person_id: int) -> HttpResponse:
    """Add or remove a tag; answers htmx with the tags card only."""
    person = _person_or_404(person_id)
    name = " ".join(request.POST.get("name", "").split())[:100]
    error = ""
    if request.POST.get("action") == "remove":
        actions.person_untag(person=person, names=[name], actor=actor_for(request))
    elif name:
        actions.person_tag(person=person, names=[name], actor=actor_for(request))
    else:
        error = _("Type a tag name.")
    if request.htmx:
        context = _profile_context(request, person, tag_error=error)
        return render(request, "people/_person_tags.html", context)
    if error:
        messages.error(request, error)
    return _back_to_profile(person, "tags")


@require_POST
@staff_required("people.edit")
def person_note(request: HttpRequest, person_id: int) -> HttpResponse:
    person = _person_or_404(person_id)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _profile_with_errors(request, person, note_form=form)
    try:
        actions.note_add(person=person, body=form.cleaned_data["body"], actor=actor_for(request))
    except ValidationError:
        form.add_error("body", _("Write something first."))
        return _profile_with_errors(request, person, note_form=form)
    messages.success(request, _("Note added."))
    return _back_to_profile(person, "notes")


@require_POST
@staff_required("people.edit")
def person_contact(request: HttpRequest, person_id: int) -> HttpResponse:
    person = _person_or_404(person_id)
    form = ContactForm(request.POST)
    if not form.is_valid():
        return _profile_with_errors(request, person, contact_form=form)
    actions.contact_log_add(person=person, actor=actor_for(request), **form.cleaned_data)
    messages.success(request, _("Contact logged."))
    return _back_to_profile(person, "notes")


@require_POST
@staff_required("people.edit")
def person_consent(request: HttpRequest, person_id: int) -> HttpResponse:
    """Record what a person told staff (on the phone, at the door) about being contacted."""
    person = _person_or_404(person_id)
    form = ConsentForm(request.POST)
    if not form.is_valid():
        return _profile_with_errors(request, person, consent_form=form)
    user = request.user
    changed = actions.consent_set(
        person=person,
        source=f"panel:{user.get_full_name() or user.email}"[:100],
        actor=actor_for(request),
        **form.cleaned_data,
    )
    if changed:
        messages.success(request, _("Consent recorded."))
    elif form.cleaned_data["status"] == "granted":
        messages.warning(
            request,
            _(
                "This person withdrew their consent; only they can give it again "
                "(by subscribing themself)."
            ),
        )
    else:
        messages.info(request, _("Nothing changed."))
    return _back_to_profile(person, "consent")


@staff_required("people.view")
def person_timeline(request: HttpRequest, person_id: int) -> HttpResponse:
    """The whole timeline, for people with a long history."""
    person = _person_or_404(person_id)
    activities = person.activities.order_by("-at", "-id")[:2000]
    return render(
        request,
        "people/person_timeline.html",
        {"person": person, "timeline": [describe(a) for a in activities], "section": "people"},
    )
