"""The control panel of one nation. Every view is scoped by `staff_required`."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from billing.limits import PlanLimitReached, ensure_within
from nations.people.models import Person
from tenants.actions import (
    DomainError,
    domain_add,
    domain_make_primary,
    domain_remove,
    domain_verify,
    verification_record_name,
    verification_record_value,
)
from tenants.forms import DomainForm, LoginForm, NationPasswordResetForm, NationSettingsForm
from tenants.handoff import handoff_consume
from tenants.models import Domain, Membership, User
from tenants.roles import DEFAULT_STAFF_PERMISSIONS, PERMISSIONS

from .access import staff_required


def _login_rate(group, request):
    return settings.LOGIN_RATE


@ratelimit(key="ip", rate=_login_rate, method="POST", block=True)
@ratelimit(key="post:email", rate=_login_rate, method="POST", block=True)
def panel_login(request):
    form = LoginForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or reverse("panel:dashboard")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("panel:dashboard")
    if request.method == "POST" and form.is_valid():
        user = authenticate(
            request, email=form.cleaned_data["email"], password=form.cleaned_data["password"]
        )
        if user is None or not Membership.objects.filter(user=user, nation=request.tenant).exists():
            # Same message for both: whether an account exists elsewhere is not this page's to say.
            form.add_error(
                None,
                _("This email and password do not give access to %(nation)s.")
                % {"nation": request.tenant.name},
            )
        else:
            login(request, user)
            return HttpResponseRedirect(next_url)
    return render(request, "panel/login.html", {"form": form, "next": next_url})


@require_POST
def panel_logout(request):
    logout(request)
    messages.info(request, _("You are logged out."))
    return redirect("panel:login")


def welcome(request):
    """Land here from the platform (signup, 'my nations') with a one-time ticket."""
    result = handoff_consume(token=request.GET.get("t", ""), nation=request.tenant)
    if result is None:
        messages.error(
            request, _("This sign-in link has expired or was already used. Please log in.")
        )
        return redirect("panel:login")
    user, next_path = result
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect(next_path if next_path.startswith("/panel/") else "/panel/")


@staff_required()
def dashboard(request):
    people = Person.objects.count()
    recent = Person.objects.order_by("-created_at")[:5]
    return render(
        request,
        "panel/dashboard.html",
        {"people_count": people, "recent": recent, "section": "dashboard"},
    )


AREAS = {
    "website": (
        gettext_lazy("Website"),
        gettext_lazy(
            "Your public site is live with a home page. Pages, petitions, events and themes will be "
            "built here."
        ),
        "site.edit",
    ),
    "donations": (
        gettext_lazy("Donations"),
        gettext_lazy(
            "No donations yet. Connect a Stripe account and publish a donation page to start "
            "raising money."
        ),
        "donations.view",
    ),
    "communication": (
        gettext_lazy("Communication"),
        gettext_lazy(
            "No messages sent yet. Emails, texts and social posts to your supporters will be "
            "composed here."
        ),
        "comms.send",
    ),
}


@staff_required()
def area(request, area: str):
    if area not in AREAS:
        raise Http404
    title, empty, _permission = AREAS[area]
    return render(request, "panel/area.html", {"title": title, "empty": empty, "section": area})


@staff_required("settings.manage")
def settings_general(request):
    nation = request.tenant
    form = NationSettingsForm(request.POST or None, instance=nation)
    if request.method == "POST" and form.is_valid():
        from nations.site.actions import site_changed

        with transaction.atomic():
            form.save()
            # The public site shows the name and uses the language and time zone: every
            # cached page is stale.
            site_changed()
        messages.success(request, _("Settings saved."))
        return redirect("panel:settings")
    return render(
        request,
        "panel/settings_general.html",
        {"form": form, "section": "settings", "tab": "general"},
    )


@staff_required("settings.manage")
def domains(request):
    nation = request.tenant
    form = DomainForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            domain = domain_add(nation=nation, hostname=form.cleaned_data["hostname"])
        except DomainError as error:
            form.add_error("hostname", str(error))
        else:
            messages.success(
                request,
                _("%(domain)s added. Create the DNS record below, then verify it.")
                % {"domain": domain.domain},
            )
            return redirect("panel:domains")
    rows = [
        (d, verification_record_name(d), verification_record_value(d))
        for d in Domain.objects.filter(tenant=nation)
    ]
    return render(
        request,
        "panel/settings_domains.html",
        {"form": form, "rows": rows, "section": "settings", "tab": "domains"},
    )


@staff_required("settings.manage")
@require_POST
def domain_action(request, domain_id: int, action: str):
    domain = get_object_or_404(Domain, pk=domain_id, tenant=request.tenant)
    try:
        if action == "verify":
            if domain_verify(domain=domain):
                messages.success(
                    request,
                    _("%(domain)s is verified and now serves your site.")
                    % {"domain": domain.domain},
                )
            else:
                messages.error(request, domain.last_check_error)
        elif action == "primary":
            domain_make_primary(domain=domain)
            messages.success(
                request, _("%(domain)s is now your main address.") % {"domain": domain.domain}
            )
        elif action == "remove":
            domain_remove(domain=domain)
            messages.success(request, _("%(domain)s removed.") % {"domain": domain.domain})
        else:
            raise Http404
    except DomainError as error:
        messages.error(request, str(error))
    return redirect("panel:domains")


class StaffForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email"))
    full_name = forms.CharField(label=gettext_lazy("Name"), max_length=150, required=False)
    role = forms.ChoiceField(
        label=gettext_lazy("Role"), choices=Membership.Role.choices, initial=Membership.Role.STAFF
    )
    permissions = forms.MultipleChoiceField(
        label=gettext_lazy("Permissions (staff role)"),
        required=False,
        choices=[(k, v) for k, v in PERMISSIONS.items() if k != "billing.manage"],
        initial=DEFAULT_STAFF_PERMISSIONS,
        widget=forms.CheckboxSelectMultiple,
    )


@staff_required("staff.manage")
def staff(request):
    nation = request.tenant
    form = StaffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if (
            data["role"] == Membership.Role.OWNER
            and request.membership.role != Membership.Role.OWNER
        ):
            form.add_error("role", _("Only an owner can add another owner."))
        else:
            email = data["email"].lower()
            user = User.objects.filter(email__iexact=email).first()
            invited = user is None
            is_new_seat = (
                invited or not Membership.objects.filter(user=user, nation=nation).exists()
            )
            if is_new_seat:
                try:
                    ensure_within(nation, "staff", adding=1)
                except PlanLimitReached as error:
                    form.add_error("email", str(error))
                    return render(
                        request,
                        "panel/settings_staff.html",
                        {
                            "form": form,
                            "members": Membership.objects.filter(nation=nation)
                            .select_related("user")
                            .order_by("role"),
                            "section": "settings",
                            "tab": "staff",
                        },
                    )
            if invited:
                user = User.objects.create_user(
                    email=email,
                    password=None,
                    full_name=data["full_name"] or email,
                    language=nation.language,
                )
            Membership.objects.update_or_create(
                user=user,
                nation=nation,
                defaults={"role": data["role"], "permissions": data["permissions"]},
            )
            if invited:
                reset = NationPasswordResetForm({"email": email}, nation=nation, invitation=True)
                if reset.is_valid():
                    reset.save(
                        request=request,
                        use_https=request.is_secure(),
                        subject_template_name="auth/invite_subject.txt",
                        email_template_name="auth/invite_email.txt",
                        extra_email_context={
                            "nation": nation,
                            "inviter": request.user,
                            "reset_route": "panel:password_reset_confirm",
                        },
                    )
            messages.success(request, _("%(email)s can now use this panel.") % {"email": email})
            return redirect("panel:staff")
    members = Membership.objects.filter(nation=nation).select_related("user").order_by("role")
    return render(
        request,
        "panel/settings_staff.html",
        {"form": form, "members": members, "section": "settings", "tab": "staff"},
    )


@staff_required("staff.manage")
@require_POST
def staff_remove(request, membership_id: int):
    membership = get_object_or_404(Membership, pk=membership_id, nation=request.tenant)
    owners = Membership.objects.filter(nation=request.tenant, role=Membership.Role.OWNER)
    if membership.role == Membership.Role.OWNER and owners.count() == 1:
        messages.error(request, _("A nation needs at least one owner."))
    elif (
        membership.role == Membership.Role.OWNER
        and request.membership.role != Membership.Role.OWNER
    ):
        messages.error(request, _("Only an owner can remove an owner."))
    else:
        membership.delete()
        messages.success(
            request, _("%(email)s no longer has access.") % {"email": membership.user.email}
        )
    return redirect("panel:staff")
