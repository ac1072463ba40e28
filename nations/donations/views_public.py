"""The donor's side: give (POST from the donation page, then Stripe Checkout), the thank-you
page (which also confirms the payment if the webhook has not arrived yet), and the signed
"manage my recurring gift" page (stop it, or change the card in Stripe's portal)."""

from __future__ import annotations

import logging

import stripe
from django.db import transaction
from django.http import Http404, HttpResponseForbidden, HttpResponseRedirect
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from markupsafe import Markup

from nations.site.models import Page
from nations.site.public import base_url, page_dict, render_site
from nations.site.views import _live_page, _origin_ok, _rate_limited, _render_page

from . import actions
from .models import Donation, RecurringDonation
from .public import DonateForm
from .signing import manage_url, recurring_for_token

log = logging.getLogger(__name__)


def _donation_page(slug: str) -> Page:
    page = _live_page(slug)
    if page is None or page.kind != Page.Kind.DONATION:
        raise Http404
    return page


def _again(request, page, form, status):
    request.donate_form = form
    from nations.site.actions import site_settings

    return _render_page(request, page, site_settings(), status=status)


@csrf_exempt  # like every public form: Origin check instead of a cookie (cached pages)
@require_POST
def donate(request, slug: str):
    page = _donation_page(slug)
    if not _origin_ok(request):
        return HttpResponseForbidden(_("This form can only be sent from this site."))
    if _rate_limited(request, page):
        from config.views import rate_limited

        return rate_limited(request)
    nation = request.tenant
    form = DonateForm(
        request.POST,
        settings=actions.donation_settings(),
        currency=(nation.currency or "").upper(),
        country=nation.country,
    )
    if not form.is_valid():
        return _again(request, page, form, 400)
    base = base_url(request)
    try:
        started = actions.donation_start(
            nation=nation,
            page=page,
            gift=form.gift(),
            intent_key=form.intent_key(page.pk),
            success_url=f"{base}/{page.slug}/donate/thanks/{{donation_key}}/",
            cancel_url=f"{base}/{page.slug}/",
            language=translation.get_language() or "",
        )
    except actions.PaymentsNotReady as refused:
        form.add_error(None, str(refused))
        return _again(request, page, form, 409)
    except actions.DonationRefused as refused:
        field = refused.field if refused.field in form.fields else None
        if refused.field == "amount":
            field = "other_amount"
        form.add_error(field, str(refused))
        return _again(request, page, form, 400)
    except stripe.StripeError:
        log.exception("checkout for a gift on %s failed", page.slug)
        form.add_error(None, _("Payments are unavailable right now. Please try again shortly."))
        return _again(request, page, form, 502)
    if started.checkout_url is None:  # paid already: this was a resubmission
        return HttpResponseRedirect(
            f"/{page.slug}/donate/thanks/{started.donation.key}/", status=303
        )
    return HttpResponseRedirect(started.checkout_url, status=303)


def _confirm(request, donation: Donation) -> Donation:
    """The donor is back before the webhook: ask Stripe, apply what it says (same action)."""
    if donation.status != Donation.Status.PENDING or not donation.stripe_checkout_session_id:
        return donation
    account = actions.connected_account(request.tenant)
    if account is None:
        return donation
    try:
        session = actions._client().v1.checkout.sessions.retrieve(
            donation.stripe_checkout_session_id, options={"stripe_account": account.account_id}
        )
    except stripe.StripeError:
        log.warning("could not confirm gift %s on return", donation.pk, exc_info=True)
        return donation
    with transaction.atomic():
        return actions.checkout_converge(session=session.to_dict()) or donation


def thanks(request, slug: str, key):
    page = _donation_page(slug)
    donation = Donation.objects.filter(key=key, page=page).first()
    if donation is None:
        raise Http404
    donation = _confirm(request, donation)
    amount = actions.money(donation.amount, donation.currency)
    if donation.status == Donation.Status.PAID:
        message = _(
            "Your gift of %(amount)s is received. A receipt is on its way to %(email)s."
        ) % {
            "amount": amount,
            "email": donation.email,
        }
    elif donation.status == Donation.Status.PENDING:
        message = _(
            "We are confirming your payment of %(amount)s with the bank; this page will "
            "update in a moment."
        ) % {"amount": amount}
    else:
        message = _("This payment did not go through. Nothing was charged.")
    response = render_site(
        request,
        "thanks.liquid",
        {
            "page": page_dict(page),
            "thanks": {"message": message, "share_url": f"{base_url(request)}/{page.slug}/"},
        },
        title=_("Thank you!"),
        noindex=True,
    )
    if donation.status == Donation.Status.PENDING:
        response["Refresh"] = "3"
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
def manage(request, manage_token: str):
    recurring = recurring_for_token(manage_token)
    if recurring is None:
        raise Http404
    nation = request.tenant
    notice = ""
    if request.method == "POST":
        if not _origin_ok(request):
            return HttpResponseForbidden(_("This form can only be sent from this site."))
        if (
            request.POST.get("action") == "card"
            and recurring.status != RecurringDonation.Status.CANCELED
        ):
            try:
                url = actions.portal_url(
                    nation=nation,
                    recurring=recurring,
                    return_url=base_url(request) + manage_url(recurring),
                )
            except stripe.StripeError:
                notice = _("The card page is unavailable right now. Please try again shortly.")
            else:
                return HttpResponseRedirect(url, status=303)
        elif request.POST.get("action") == "cancel":
            with transaction.atomic():
                actions.recurring_cancel(
                    nation=nation,
                    recurring=recurring,
                    actor=actions.Actor(name=_("the donor")),
                )
            notice = _("Your recurring gift is stopped. Thank you for your support.")
    recurring.refresh_from_db()
    amount = actions.money(recurring.amount, recurring.currency)
    every = _("per month") if recurring.interval == "month" else _("per year")
    parts = [
        f'<p class="lead">{escape(amount)} {escape(every)} · {escape(recurring.get_status_display())}</p>'
    ]
    if notice:
        parts.append(f'<p class="notice" role="status">{escape(notice)}</p>')
    if recurring.status == RecurringDonation.Status.PAST_DUE:
        parts.append(
            f'<p class="notice">{escape(_("Your last payment failed. Update your card to keep your gift going."))}</p>'
        )
    if recurring.status == RecurringDonation.Status.PAUSED and recurring.paused_until:
        from django.utils import formats

        parts.append(
            '<p class="notice">'
            + escape(
                _(
                    "%(reason)s: nothing more is charged until %(date)s, then your gift "
                    "resumes by itself."
                )
                % {
                    "reason": recurring.get_stop_reason_display() or _("Paused"),
                    "date": formats.date_format(recurring.paused_until, "DATE_FORMAT"),
                }
            )
            + "</p>"
        )
    if recurring.status != RecurringDonation.Status.CANCELED:
        parts.append(
            '<form method="post" class="nf"><input type="hidden" name="action" value="card">'
            f'<button type="submit">{escape(_("Update my card"))}</button></form>'
            '<form method="post" class="nf" style="margin-top:12px"><input type="hidden" name="action" value="cancel">'
            f'<button type="submit" class="secondary">{escape(_("Stop my recurring gift"))}</button></form>'
        )
    return render_site(
        request,
        "page.liquid",
        {
            "page": {
                "title": _("Your recurring gift"),
                "intro": nation.name,
                "body": Markup("".join(parts)),  # noqa: S704 - escaped above
                "url": request.path,
            }
        },
        title=_("Your recurring gift"),
        noindex=True,
    )


def tax_receipt(request, receipt_token: str):
    """The donor's tax receipt PDF, from the signed, expiring link in their email."""
    from django.http import HttpResponse

    from .pdf import tax_receipt_pdf
    from .signing import tax_receipt_for_token

    receipt = tax_receipt_for_token(receipt_token)
    if receipt is None:
        raise Http404
    # A read: never create the settings row here (a donor's click writes nothing).
    from .models import DonationSettings

    settings = DonationSettings.objects.first() or DonationSettings()
    body = tax_receipt_pdf(receipt, settings, request.tenant.name)
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="recu-fiscal-{receipt.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
