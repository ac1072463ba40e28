"""Who may use a nation's control panel: one place resolves the staff member and checks the
permission, before any view code runs (STYLE.md: scope in one place)."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from tenants.models import Membership
from tenants.roles import permissions_for


def staff_required(permission: str | None = None):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            login_url = reverse("panel:login")
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), login_url)
            membership = Membership.objects.filter(user=request.user, nation=request.tenant).first()
            if membership is None:
                logout(request)
                return redirect_to_login(request.get_full_path(), login_url)
            request.membership = membership
            request.permissions = permissions_for(membership.role, membership.permissions)
            if permission and permission not in request.permissions:
                return render(request, "panel/forbidden.html", status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def can(request, permission: str) -> bool:
    return permission in getattr(request, "permissions", frozenset())


def forbidden_message() -> str:
    return _("Your role does not allow this. Ask an owner or admin of this nation.")
