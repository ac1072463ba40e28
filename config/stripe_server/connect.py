"""Stripe Connect and one-time payments on the local server: connected accounts and their
onboarding (account links and a hosted onboarding page), Checkout in payment mode, payment
intents and charges, refunds, disputes (opened and closed through /_local/ test endpoints).

Everything a nation does on its own account is sent with the `Stripe-Account` header: objects
are stored under that account and its events carry `account` and go to Connect endpoints only.
Subscriptions, invoices, renewals (clock) and the billing portal come from billing.py and work
unchanged under a connected account.
"""

from __future__ import annotations

from typing import Any

from . import billing
from .server import Html, Redirect, Request, route
from .store import Store, StripeError, missing

DAY = 86400


# --- accounts and onboarding -----------------------------------------------------------------
def _account_shape(st: Store, p: dict[str, Any]) -> dict[str, Any]:
    now = st.now()
    country = (p.get("country") or "US").upper()
    return {
        "id": st.new_id("acct", 16),
        "object": "account",
        "business_profile": {
            "mcc": None,
            "name": (p.get("business_profile") or {}).get("name"),
            "url": (p.get("business_profile") or {}).get("url"),
        },
        "business_type": p.get("business_type"),
        "capabilities": {},
        "charges_enabled": False,
        "controller": {"type": "application", "is_controller": True},
        "country": country,
        "created": now,
        "default_currency": {"FR": "eur", "GB": "gbp", "CA": "cad"}.get(country, "usd"),
        "details_submitted": False,
        "email": p.get("email"),
        "metadata": billing._metadata({}, p.get("metadata")),
        "payouts_enabled": False,
        "requirements": {
            "currently_due": ["external_account", "tos_acceptance.date"],
            "disabled_reason": "requirements.past_due",
            "eventually_due": ["external_account", "tos_acceptance.date"],
            "past_due": ["external_account", "tos_acceptance.date"],
        },
        "settings": {"payouts": {"schedule": {"interval": "daily"}}},
        "type": p.get("type") or "standard",
    }


@route("POST", "/v1/accounts")
def _accounts_create(req: Request):
    if req.account:
        raise StripeError("Connected accounts cannot create accounts.", status=403)
    return req.store.put(_account_shape(req.store, req.params), None)


@route("GET", "/v1/accounts/(?P<aid>acct_[^/]+)")
def _accounts_retrieve(req: Request, aid: str):
    return req.store.get("account", aid, None)


@route("GET", "/v1/account")
def _account_self(req: Request):
    if not req.account:
        raise StripeError("Only connected accounts here locally.")
    return req.store.get("account", req.account, None)


@route("POST", "/v1/account_links")
def _account_links_create(req: Request):
    st, p = req.store, req.params
    account = st.get("account", p.get("account", ""), None)
    for name in ("refresh_url", "return_url"):
        if not p.get(name):
            raise StripeError(f"Missing required param: {name}.", param=name)
    link_id = st.new_id("acctlink")
    link = {
        "id": link_id,
        "object": "account_link",
        "created": st.now(),
        "expires_at": st.now() + 300,
        "url": f"{st.base_url}/connect/onboard/{link_id}",
        "_account_id": account["id"],
        "_return_url": p["return_url"],
        "_refresh_url": p["refresh_url"],
    }
    st.put(link, None)
    return {k: v for k, v in link.items() if k != "id"}


def account_enable(st: Store, account: dict[str, Any], *, name: str = "") -> None:
    previous = {
        "charges_enabled": account["charges_enabled"],
        "payouts_enabled": account["payouts_enabled"],
        "details_submitted": account["details_submitted"],
    }
    account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
    account["capabilities"] = {"card_payments": "active", "transfers": "active"}
    account["requirements"] = {
        "currently_due": [],
        "disabled_reason": None,
        "eventually_due": [],
        "past_due": [],
    }
    if name:
        account["business_profile"]["name"] = name
    st.emit("account.updated", account, account=account["id"], previous=previous)


def _onboard_page(link: dict[str, Any]) -> Html:
    from .pages import page

    body = (
        "<p class='muted'>Stripe Connect</p><h1>Set up payments</h1>"
        "<p>Tell Stripe who you are and where payouts go. (Test mode: anything is accepted.)</p>"
        '<form method="post"><label for="business_name">Organisation name</label>'
        '<input id="business_name" name="business_name" value="Demo organisation">'
        '<label for="iban">Bank account (IBAN)</label>'
        '<input id="iban" name="iban" value="FR1420041010050500013M02606">'
        '<button type="submit">Agree and submit</button></form>'
    )
    return page("Set up payments", body)


@route("GET", "/connect/onboard/(?P<lid>acctlink_[^/]+)")
def onboard_page(req: Request, lid: str):
    link = req.store.objects.get(lid)
    if not link or link["object"] != "account_link":
        from .pages import page

        return page("Onboarding", "<h1>This link is not valid.</h1>", 404)
    if req.store.now() > link["expires_at"]:
        return Redirect(link["_refresh_url"])
    return _onboard_page(link)


@route("POST", "/connect/onboard/(?P<lid>acctlink_[^/]+)")
def onboard_submit(req: Request, lid: str):
    st = req.store
    link = st.objects.get(lid)
    if not link or link["object"] != "account_link":
        from .pages import page

        return page("Onboarding", "<h1>This link is not valid.</h1>", 404)
    if st.now() > link["expires_at"]:
        return Redirect(link["_refresh_url"])
    account_enable(st, st.objects[link["_account_id"]], name=req.params.get("business_name", ""))
    link["expires_at"] = 0  # an account link is single-use
    return Redirect(link["_return_url"])


@route("POST", "/_local/accounts/(?P<aid>acct_[^/]+)/enable")
def _local_account_enable(req: Request, aid: str):
    account = req.store.get("account", aid, None)
    account_enable(req.store, account)
    return account


# --- payment intents and charges -------------------------------------------------------------
def _charge(st: Store, pi: dict[str, Any], pm: dict[str, Any], account) -> dict[str, Any]:
    return st.put(
        {
            "id": st.new_id("ch"),
            "object": "charge",
            "amount": pi["amount"],
            "amount_captured": pi["amount"],
            "amount_refunded": 0,
            "balance_transaction": st.new_id("txn"),
            "billing_details": pm["billing_details"],
            "captured": True,
            "created": st.now(),
            "currency": pi["currency"],
            "customer": pi["customer"],
            "description": pi["description"],
            "disputed": False,
            "livemode": False,
            "metadata": dict(pi["metadata"]),
            "paid": True,
            "payment_intent": pi["id"],
            "payment_method": pm["id"],
            "payment_method_details": {"card": dict(pm["card"]), "type": "card"},
            "receipt_email": pi["receipt_email"],
            "refunded": False,
            "status": "succeeded",
        },
        account,
    )


def payment_intent_create(
    st: Store, *, amount: int, currency: str, customer: str | None, metadata, account, **extra
) -> dict[str, Any]:
    return st.put(
        {
            "id": st.new_id("pi"),
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "capture_method": "automatic",
            "client_secret": None,
            "created": st.now(),
            "currency": currency,
            "customer": customer,
            "description": extra.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": dict(metadata or {}),
            "payment_method": None,
            "payment_method_types": ["card"],
            "receipt_email": extra.get("receipt_email"),
            "status": "requires_payment_method",
        },
        account,
    )


def payment_intent_confirm(st: Store, pi: dict[str, Any], pm: dict[str, Any], account) -> bool:
    pi["payment_method"] = pm["id"]
    if pm["_behaviour"] != "ok":
        pi["status"] = "requires_payment_method"
        pi["last_payment_error"] = {
            "code": "card_declined",
            "decline_code": "generic_decline",
            "message": "Your card was declined.",
            "type": "card_error",
        }
        st.emit("payment_intent.payment_failed", pi, account=account)
        return False
    charge = _charge(st, pi, pm, account)
    pi.update(status="succeeded", amount_received=pi["amount"], latest_charge=charge["id"])
    pi["last_payment_error"] = None
    st.emit("charge.succeeded", charge, account=account)
    st.emit("payment_intent.succeeded", pi, account=account)
    return True


@route("POST", "/v1/payment_intents")
def _payment_intents_create(req: Request):
    st, p = req.store, req.params
    amount = billing._int(p.get("amount"), "amount")
    if amount < 50:
        raise StripeError(
            "Amount must be at least 50 cents.", param="amount", code="amount_too_small"
        )
    if not p.get("currency"):
        raise StripeError("Missing required param: currency.", param="currency")
    pi = payment_intent_create(
        st,
        amount=amount,
        currency=p["currency"].lower(),
        customer=p.get("customer"),
        metadata=billing._metadata({}, p.get("metadata")),
        account=req.account,
        description=p.get("description"),
        receipt_email=p.get("receipt_email"),
    )
    if billing._bool(p.get("confirm")) and p.get("payment_method"):
        pm = billing._payment_method_from(req, p["payment_method"])
        if not payment_intent_confirm(st, pi, pm, req.account):
            raise billing.card_error("Your card was declined.")
    return pi


@route("GET", "/v1/payment_intents/(?P<pid>pi_[^/]+)")
def _payment_intents_retrieve(req: Request, pid: str):
    return req.store.get("payment_intent", pid, req.account)


@route("GET", "/v1/charges/(?P<cid>ch_[^/]+)")
def _charges_retrieve(req: Request, cid: str):
    return req.store.get("charge", cid, req.account)


# --- checkout in payment mode ----------------------------------------------------------------
def checkout_payment_create(req: Request) -> dict[str, Any]:
    st, p = req.store, req.params
    if not p.get("success_url"):
        raise StripeError("Missing required param: success_url.", param="success_url")
    line_items = p.get("line_items") or []
    if len(line_items) != 1:
        raise StripeError("Provide exactly one line item.", param="line_items")
    price = st.get("price", line_items[0].get("price", ""), req.account)
    if price["type"] != "one_time":
        raise StripeError(
            "You specified `payment` mode but passed a recurring price.",
            param="line_items[0][price]",
        )
    quantity = billing._int(line_items[0].get("quantity", 1), "line_items[0][quantity]")
    amount = price["unit_amount"] * quantity
    now = st.now()
    session_id = st.new_id("cs_test", 58)
    intent_data = p.get("payment_intent_data") or {}
    session = {
        "id": session_id,
        "object": "checkout.session",
        "amount_subtotal": amount,
        "amount_total": amount,
        "cancel_url": p.get("cancel_url"),
        "client_reference_id": p.get("client_reference_id"),
        "created": now,
        "currency": price["currency"],
        "customer": p.get("customer"),
        "customer_creation": p.get("customer_creation") or "if_required",
        "customer_details": None,
        "customer_email": p.get("customer_email"),
        "discounts": [],
        "expires_at": now + DAY,
        "invoice": None,
        "livemode": False,
        "locale": p.get("locale"),
        "metadata": billing._metadata({}, p.get("metadata")),
        "mode": "payment",
        "payment_intent": None,
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "status": "open",
        "submit_type": p.get("submit_type"),
        "subscription": None,
        "success_url": p["success_url"],
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": f"{st.base_url}/c/pay/{session_id}",
        "_price": price["id"],
        "_intent_metadata": billing._metadata({}, intent_data.get("metadata")),
        "_intent_description": intent_data.get("description"),
    }
    return st.put(session, req.account)


def payment_checkout_complete(
    st: Store, session: dict[str, Any], *, email: str, name: str, number: str, exp
) -> None:
    """The hosted page's "pay" button in payment mode: a declined card leaves the session open
    (the donor may try another card) and emits payment_intent.payment_failed."""
    account = session.get("_account")
    pm = billing.payment_method_create(st, number, account, exp)
    pm["billing_details"].update(name=name or None, email=email or None)
    customer = session["customer"]
    if customer is None and session["customer_creation"] == "always":
        created = billing.customer_create(st, {"email": email, "name": name}, account)
        customer = created["id"]
    pi = st.objects.get(session["payment_intent"] or "")
    if pi is None:
        pi = payment_intent_create(
            st,
            amount=session["amount_total"],
            currency=session["currency"],
            customer=customer,
            metadata=session["_intent_metadata"],
            account=account,
            description=session["_intent_description"],
            receipt_email=email or None,
        )
        session["payment_intent"] = pi["id"]
    if not payment_intent_confirm(st, pi, pm, account):
        raise billing.card_error("Your card was declined.")
    session.update(
        status="complete",
        payment_status="paid",
        customer=customer,
        customer_details={
            "address": None,
            "email": email or session["customer_email"],
            "name": name or None,
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
    )
    st.emit("checkout.session.completed", session, account=account)


# --- refunds and disputes --------------------------------------------------------------------
@route("POST", "/v1/refunds")
def _refunds_create(req: Request):
    st, p = req.store, req.params
    pi = st.get("payment_intent", p.get("payment_intent", ""), req.account)
    if pi["status"] != "succeeded":
        raise StripeError("This PaymentIntent has no successful charge to refund.")
    charge = st.objects[pi["latest_charge"]]
    left = charge["amount"] - charge["amount_refunded"]
    amount = billing._int(p["amount"], "amount") if p.get("amount") else left
    if amount <= 0 or amount > left:
        raise StripeError(
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
            param="amount",
            code="amount_too_large",
        )
    if charge["disputed"]:
        raise StripeError(f"Charge {charge['id']} has been disputed.", code="charge_disputed")
    refund = st.put(
        {
            "id": st.new_id("re"),
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "created": st.now(),
            "currency": charge["currency"],
            "metadata": billing._metadata({}, p.get("metadata")),
            "payment_intent": pi["id"],
            "reason": p.get("reason"),
            "status": "succeeded",
        },
        req.account,
    )
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    st.emit("refund.created", refund, account=req.account, request=req.event_request)
    st.emit("charge.refunded", charge, account=req.account, request=req.event_request)
    return refund


@route("GET", "/v1/refunds/(?P<rid>re_[^/]+)")
def _refunds_retrieve(req: Request, rid: str):
    return req.store.get("refund", rid, req.account)


@route("POST", "/_local/disputes")
def _local_dispute_open(req: Request):
    """Test endpoint: the cardholder disputes a payment (Stripe's 4000 0000 0000 0259 path)."""
    st, p = req.store, req.params
    pi = st.objects.get(p.get("payment_intent", ""))
    if not pi or pi["object"] != "payment_intent" or not pi["latest_charge"]:
        raise missing("payment_intent", p.get("payment_intent", ""), "payment_intent")
    account = pi.get("_account")
    charge = st.objects[pi["latest_charge"]]
    charge["disputed"] = True
    dispute = st.put(
        {
            "id": st.new_id("dp"),
            "object": "dispute",
            "amount": charge["amount"],
            "charge": charge["id"],
            "created": st.now(),
            "currency": charge["currency"],
            "evidence_details": {"due_by": st.now() + 7 * DAY, "has_evidence": False},
            "livemode": False,
            "metadata": {},
            "payment_intent": pi["id"],
            "reason": p.get("reason") or "fraudulent",
            "status": "needs_response",
        },
        account,
    )
    st.emit("charge.dispute.created", dispute, account=account)
    return dispute


@route("POST", "/_local/disputes/(?P<did>dp_[^/]+)/close")
def _local_dispute_close(req: Request, did: str):
    st = req.store
    dispute = st.objects.get(did)
    if not dispute or dispute["object"] != "dispute":
        raise missing("dispute", did)
    outcome = req.params.get("status", "lost")
    if outcome not in ("won", "lost"):
        raise StripeError("status is won or lost.", param="status")
    dispute["status"] = outcome
    st.emit("charge.dispute.closed", dispute, account=dispute.get("_account"))
    return dispute
