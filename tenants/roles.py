"""Staff roles inside a nation and what each may do.

Owners and admins may do everything in the panel (only owners manage billing and the nation's
existence); staff get the permissions picked for them."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

PERMISSIONS: dict[str, str] = {
    "people.view": _("See people"),
    "people.edit": _("Add and edit people"),
    "people.export": _("Export people"),
    "site.edit": _("Edit the website"),
    "donations.view": _("See donations"),
    "donations.manage": _("Manage donations and refunds"),
    "comms.send": _("Send emails, texts and posts"),
    "settings.manage": _("Change settings and domains"),
    "staff.manage": _("Manage staff"),
    "billing.manage": _("Manage the plan and billing"),
}
OWNER_ONLY = {"billing.manage"}
DEFAULT_STAFF_PERMISSIONS = ["people.view", "people.edit", "site.edit", "donations.view"]


def permissions_for(role: str, granted: list[str] | None) -> frozenset[str]:
    if role == "owner":
        return frozenset(PERMISSIONS)
    if role == "admin":
        return frozenset(set(PERMISSIONS) - OWNER_ONLY)
    return frozenset(p for p in (granted or []) if p in PERMISSIONS and p not in OWNER_ONLY)
