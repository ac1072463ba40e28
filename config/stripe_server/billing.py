"""Stripe Billing on the local server: customers, payment methods, products, prices, coupons,
checkout sessions (subscription mode), subscriptions, invoices, billing portal sessions, events,
and the clock that drives renewals and payment retries.

Behaviour worth knowing (it mirrors Stripe's defaults in test mode):
- cards: 4242 4242 4242 4242 and 5555 5555 5555 4444 succeed; 4000 0000 0000 0002 is declined
  (at checkout and when attached); 4000 0000 0000 0341 attaches but every charge fails. The test
  PaymentMethod ids pm_card_visa, pm_card_mastercard, pm_card_chargeDeclined and
  pm_card_chargeCustomerFail work as on Stripe.
- a failed renewal leaves the invoice open and the subscription past_due; it is retried 3, 5 and
  7 days after each failure, then the subscription becomes unpaid (invoice still open). Paying the
  open invoice (POST /v1/invoices/{id}/pay, or a new card in the portal) makes it active again.
- price changes prorate to the second: with proration_behavior=always_invoice the difference is
  invoiced now, with create_prorations it waits for the next invoice; a change of interval resets
  the billing anchor and invoices now. payment_behavior=error_if_incomplete refuses (402) an
  update whose invoice cannot be paid, changing nothing.
- a renewal's invoice starts as a `draft` (invoice.created, no number) and is finalized and
  charged an hour later (`automatically_finalizes_at`); meanwhile it can be finalized with
  auto_advance=false and voided. A paid invoice's money is a PaymentIntent + Charge linked by
  an InvoicePayment (GET /v1/invoice_payments), so renewals can be refunded.
  `pause_collection` (behavior=void) voids the renewals it meets until `resumes_at`.
- time only moves when told: POST /_local/clock/advance (seconds=… or to=…) processes every
  renewal and retry that falls due, in order, emitting events stamped with the clock's time.
"""

from __future__ import annotations

import calendar
import copy
from datetime import UTC, datetime
from typing import Any

from .server import Request, list_response, route
from .store import Store, StripeError, missing

CARDS = {
    "4242424242424242": ("visa", "ok"),
    "4000056655665556": ("visa", "ok"),
    "5555555555554444": ("mastercard", "ok"),
    "4000000000000002": ("visa", "decline"),
    "4000000000009995": ("visa", "decline"),
    "4000000000000341": ("visa", "fail_charges"),
}
TEST_PAYMENT_METHODS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeCustomerFail": "4000000000000341",
}
RETRY_DAYS = [3, 5, 7]  # after the 1st, 2nd and 3rd failed attempt; then `unpaid`
DAY = 86400


# --- small helpers ---------------------------------------------------------------------------
def _bool(value: Any) -> bool:
    return str(value).lower() == "true"


def _int(value: Any, param: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise StripeError(f"Invalid integer: {value}", param=param) from exc


def _metadata(current: dict[str, str] | None, update: Any) -> dict[str, str]:
    result = dict(current or {})
    if update == "":
        return {}
    for key, value in (update or {}).items():
        if value == "":
            result.pop(key, None)
        else:
            result[key] = str(value)
    return result


def add_interval(ts: int, interval: str, count: int = 1, anchor_day: int | None = None) -> int:
    moment = datetime.fromtimestamp(ts, UTC)
    if interval == "day":
        return ts + DAY * count
    if interval == "week":
        return ts + 7 * DAY * count
    months = count * (12 if interval == "year" else 1)
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    month += 1
    day = min(anchor_day or moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return len(digits) >= 12 and total % 10 == 0


def card_error(message: str, code: str = "card_declined", decline: str = "generic_decline"):
    return StripeError(message, status=402, type="card_error", code=code, decline_code=decline)


# --- customers -------------------------------------------------------------------------------
def customer_create(st: Store, p: dict[str, Any], account: str | None = None) -> dict[str, Any]:
    now = st.now()
    return st.put(
        {
            "id": st.new_id("cus", 14),
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": now,
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": p.get("description"),
            "email": p.get("email"),
            "invoice_prefix": st.new_id("X", 6)[2:].upper(),
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": _metadata({}, p.get("metadata")),
            "name": p.get("name"),
            "next_invoice_sequence": 1,
            "phone": p.get("phone"),
            "preferred_locales": p.get("preferred_locales") or [],
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        },
        account,
    )


@route("POST", "/v1/customers")
def _customers_create(req: Request):
    return customer_create(req.store, req.params, req.account)


@route("GET", "/v1/customers")
def _customers_list(req: Request):
    items = req.store.find("customer", req.account)
    if req.params.get("email"):
        items = [c for c in items if c["email"] == req.params["email"]]
    return list_response(req, items, "/v1/customers")


@route("GET", "/v1/customers/(?P<cid>[^/]+)")
def _customers_retrieve(req: Request, cid: str):
    return req.store.get("customer", cid, req.account)


@route("POST", "/v1/customers/(?P<cid>[^/]+)")
def _customers_update(req: Request, cid: str):
    st, p = req.store, req.params
    customer = st.get("customer", cid, req.account)
    for key in ("email", "name", "description", "phone"):
        if key in p:
            customer[key] = p[key] or None
    if "metadata" in p:
        customer["metadata"] = _metadata(customer["metadata"], p["metadata"])
    settings = p.get("invoice_settings") or {}
    if "default_payment_method" in settings:
        pm_id = settings["default_payment_method"]
        if pm_id:
            pm = st.get("payment_method", pm_id, req.account, "PaymentMethod")
            if pm["customer"] != cid:
                raise StripeError(
                    f"The payment method `{pm_id}` must be attached to the customer.",
                    param="invoice_settings[default_payment_method]",
                )
        customer["invoice_settings"]["default_payment_method"] = pm_id or None
    st.emit("customer.updated", customer, account=req.account, request=req.event_request)
    return customer


# --- payment methods -------------------------------------------------------------------------
def payment_method_create(
    st: Store, number: str, account: str | None = None, exp=(12, 2034)
) -> dict[str, Any]:
    number = "".join(ch for ch in number if ch.isdigit())
    if number not in CARDS and not luhn_ok(number):
        raise card_error("Your card number is incorrect.", "incorrect_number", "incorrect_number")
    brand, behaviour = CARDS.get(number, ("visa", "ok"))
    return st.put(
        {
            "id": st.new_id("pm"),
            "object": "payment_method",
            "allow_redisplay": "unspecified",
            "billing_details": {"address": None, "email": None, "name": None, "phone": None},
            "card": {
                "brand": brand,
                "checks": {"address_line1_check": None, "cvc_check": "pass"},
                "country": "US",
                "display_brand": brand,
                "exp_month": int(exp[0]),
                "exp_year": int(exp[1]),
                "funding": "credit",
                "last4": number[-4:],
            },
            "created": st.now(),
            "customer": None,
            "livemode": False,
            "metadata": {},
            "type": "card",
            "_behaviour": behaviour,
        },
        account,
    )


def payment_method_attach(st: Store, pm: dict[str, Any], customer_id: str) -> None:
    if pm["_behaviour"] == "decline":
        raise card_error("Your card was declined.")
    pm["customer"] = customer_id


def _payment_method_from(req: Request, pm_id: str) -> dict[str, Any]:
    if pm_id in TEST_PAYMENT_METHODS:
        return payment_method_create(req.store, TEST_PAYMENT_METHODS[pm_id], req.account)
    return req.store.get("payment_method", pm_id, req.account, "PaymentMethod")


@route("POST", "/v1/payment_methods")
def _payment_methods_create(req: Request):
    card = req.params.get("card") or {}
    if req.params.get("type") != "card" or not card.get("number"):
        raise StripeError("Only card payment methods with card[number] are supported locally.")
    exp = (card.get("exp_month", 12), card.get("exp_year", 2034))
    return payment_method_create(req.store, card["number"], req.account, exp)


@route("GET", "/v1/payment_methods/(?P<pid>[^/]+)")
def _payment_methods_retrieve(req: Request, pid: str):
    return req.store.get("payment_method", pid, req.account, "PaymentMethod")


@route("POST", "/v1/payment_methods/(?P<pid>[^/]+)/attach")
def _payment_methods_attach(req: Request, pid: str):
    customer = req.store.get("customer", req.params.get("customer", ""), req.account)
    pm = _payment_method_from(req, pid)
    payment_method_attach(req.store, pm, customer["id"])
    req.store.emit("payment_method.attached", pm, account=req.account, request=req.event_request)
    return pm


@route("GET", "/v1/payment_methods")
def _payment_methods_list(req: Request):
    items = req.store.find("payment_method", req.account, customer=req.params.get("customer"))
    return list_response(req, items, "/v1/payment_methods")


# --- products, prices, coupons ---------------------------------------------------------------
def product_create(st: Store, p: dict[str, Any], account: str | None) -> dict[str, Any]:
    if not p.get("name"):
        raise StripeError("Missing required param: name.", param="name")
    pid = p.get("id") or st.new_id("prod", 14)
    if pid in st.objects:
        raise StripeError(
            f"Product already exists: {pid}", param="id", code="resource_already_exists"
        )
    now = st.now()
    return st.put(
        {
            "id": pid,
            "object": "product",
            "active": _bool(p.get("active", "true")),
            "created": now,
            "default_price": None,
            "description": p.get("description"),
            "images": [],
            "livemode": False,
            "marketing_features": [],
            "metadata": _metadata({}, p.get("metadata")),
            "name": p["name"],
            "package_dimensions": None,
            "shippable": None,
            "statement_descriptor": None,
            "tax_code": None,
            "type": "service",
            "unit_label": None,
            "updated": now,
            "url": None,
        },
        account,
    )


@route("POST", "/v1/products")
def _products_create(req: Request):
    return product_create(req.store, req.params, req.account)


@route("GET", "/v1/products")
def _products_list(req: Request):
    items = req.store.find("product", req.account)
    if "active" in req.params:
        items = [o for o in items if o["active"] == _bool(req.params["active"])]
    return list_response(req, items, "/v1/products")


@route("GET", "/v1/products/(?P<pid>[^/]+)")
def _products_retrieve(req: Request, pid: str):
    return req.store.get("product", pid, req.account)


@route("POST", "/v1/products/(?P<pid>[^/]+)")
def _products_update(req: Request, pid: str):
    product = req.store.get("product", pid, req.account)
    for key in ("name", "description"):
        if key in req.params:
            product[key] = req.params[key]
    if "active" in req.params:
        product["active"] = _bool(req.params["active"])
    if "metadata" in req.params:
        product["metadata"] = _metadata(product["metadata"], req.params["metadata"])
    product["updated"] = req.store.now()
    return product


@route("POST", "/v1/prices")
def _prices_create(req: Request):
    st, p = req.store, req.params
    if "product_data" in p:
        product = product_create(st, p["product_data"], req.account)
    else:
        product = st.get("product", p.get("product", ""), req.account)
    if "unit_amount" not in p:
        raise StripeError("Missing required param: unit_amount.", param="unit_amount")
    if not p.get("currency"):
        raise StripeError("Missing required param: currency.", param="currency")
    recurring = p.get("recurring")
    if recurring and recurring.get("interval") not in ("day", "week", "month", "year"):
        raise StripeError("Invalid recurring[interval].", param="recurring[interval]")
    lookup_key = p.get("lookup_key")
    if lookup_key:
        holders = [o for o in st.find("price", req.account) if o["lookup_key"] == lookup_key]
        if holders and not _bool(p.get("transfer_lookup_key")):
            raise StripeError(
                f"A price (`{holders[0]['id']}`) already uses that lookup key.",
                param="lookup_key",
            )
        for holder in holders:
            holder["lookup_key"] = None
    amount = _int(p["unit_amount"], "unit_amount")
    price = {
        "id": st.new_id("price"),
        "object": "price",
        "active": _bool(p.get("active", "true")),
        "billing_scheme": "per_unit",
        "created": st.now(),
        "currency": p["currency"].lower(),
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": lookup_key,
        "metadata": _metadata({}, p.get("metadata")),
        "nickname": p.get("nickname"),
        "product": product["id"],
        "recurring": {
            "interval": recurring["interval"],
            "interval_count": _int(recurring.get("interval_count", 1), "interval_count"),
            "meter": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        }
        if recurring
        else None,
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if recurring else "one_time",
        "unit_amount": amount,
        "unit_amount_decimal": str(amount),
    }
    return st.put(price, req.account)


@route("GET", "/v1/prices")
def _prices_list(req: Request):
    p = req.params
    items = req.store.find("price", req.account)
    if "product" in p:
        items = [o for o in items if o["product"] == p["product"]]
    if "active" in p:
        items = [o for o in items if o["active"] == _bool(p["active"])]
    if "lookup_keys" in p:
        keys = p["lookup_keys"] if isinstance(p["lookup_keys"], list) else [p["lookup_keys"]]
        items = [o for o in items if o["lookup_key"] in keys]
    if "type" in p:
        items = [o for o in items if o["type"] == p["type"]]
    return list_response(req, items, "/v1/prices")


@route("GET", "/v1/prices/(?P<pid>[^/]+)")
def _prices_retrieve(req: Request, pid: str):
    return req.store.get("price", pid, req.account)


@route("POST", "/v1/prices/(?P<pid>[^/]+)")
def _prices_update(req: Request, pid: str):
    st, p = req.store, req.params
    price = st.get("price", pid, req.account)
    if "active" in p:
        price["active"] = _bool(p["active"])
    if "nickname" in p:
        price["nickname"] = p["nickname"] or None
    if "metadata" in p:
        price["metadata"] = _metadata(price["metadata"], p["metadata"])
    if "lookup_key" in p:
        for holder in st.find("price", req.account):
            if holder["lookup_key"] == p["lookup_key"] and holder is not price:
                if not _bool(p.get("transfer_lookup_key")):
                    raise StripeError("That lookup key is in use.", param="lookup_key")
                holder["lookup_key"] = None
        price["lookup_key"] = p["lookup_key"] or None
    return price


def coupon_valid(st: Store, coupon: dict[str, Any]) -> bool:
    if coupon.get("redeem_by") and st.now() > coupon["redeem_by"]:
        return False
    return not (
        coupon.get("max_redemptions") and coupon["times_redeemed"] >= coupon["max_redemptions"]
    )


@route("POST", "/v1/coupons")
def _coupons_create(req: Request):
    st, p = req.store, req.params
    if not p.get("percent_off") and not p.get("amount_off"):
        raise StripeError("Coupons need percent_off or amount_off.", param="percent_off")
    cid = p.get("id") or st.new_id("", 8)[1:]
    if cid in st.objects:
        raise StripeError("Coupon already exists.", param="id", code="resource_already_exists")
    duration = p.get("duration", "once")
    coupon = {
        "id": cid,
        "object": "coupon",
        "amount_off": _int(p["amount_off"], "amount_off") if p.get("amount_off") else None,
        "created": st.now(),
        "currency": (p.get("currency") or "").lower() or None,
        "duration": duration,
        "duration_in_months": _int(p["duration_in_months"], "duration_in_months")
        if duration == "repeating"
        else None,
        "livemode": False,
        "max_redemptions": _int(p["max_redemptions"], "max_redemptions")
        if p.get("max_redemptions")
        else None,
        "metadata": _metadata({}, p.get("metadata")),
        "name": p.get("name"),
        "percent_off": float(p["percent_off"]) if p.get("percent_off") else None,
        "redeem_by": _int(p["redeem_by"], "redeem_by") if p.get("redeem_by") else None,
        "times_redeemed": 0,
        "valid": True,
    }
    return st.put(coupon, req.account)


@route("GET", "/v1/coupons/(?P<cid>[^/]+)")
def _coupons_retrieve(req: Request, cid: str):
    coupon = req.store.get("coupon", cid, req.account)
    coupon["valid"] = coupon_valid(req.store, coupon)
    return coupon


@route("GET", "/v1/coupons")
def _coupons_list(req: Request):
    return list_response(req, req.store.find("coupon", req.account), "/v1/coupons")


def discount_create(
    st: Store, coupon_id: str, customer: str, subscription: str | None, param: str, account
) -> dict[str, Any]:
    coupon = st.objects.get(coupon_id)
    if coupon is None or coupon["object"] != "coupon" or coupon.get("_account") != account:
        raise missing("coupon", coupon_id, param)
    if not coupon_valid(st, coupon):
        raise StripeError(
            f"Coupon {coupon_id} is no longer valid: it expired or was fully redeemed.",
            param=param,
            code="coupon_expired",
        )
    coupon["times_redeemed"] += 1
    now = st.now()
    end = None
    if coupon["duration"] == "repeating":
        end = add_interval(now, "month", coupon["duration_in_months"])
    return st.put(
        {
            "id": st.new_id("di"),
            "object": "discount",
            "checkout_session": None,
            "customer": customer,
            "end": end,
            "invoice": None,
            "invoice_item": None,
            "promotion_code": None,
            "source": {"coupon": coupon_id, "type": "coupon"},
            "start": now,
            "subscription": subscription,
            "subscription_item": None,
            "_once_used": False,
        },
        account,
    )


# --- subscriptions and invoices --------------------------------------------------------------
def _price_line(
    price: dict[str, Any], amount: int, start: int, end: int, sub, item, desc: str, proration=False
):
    return {
        "amount": amount,
        "description": desc,
        "price": price["id"],
        "product": price["product"],
        "proration": proration,
        "period": {"start": start, "end": end},
        "subscription": sub["id"],
        "subscription_item": item["id"],
    }


def _describe(st: Store, price: dict[str, Any]) -> str:
    product = st.objects.get(price["product"], {})
    interval = (price.get("recurring") or {}).get("interval", "")
    return f"1 × {product.get('name', price['product'])} (at ${price['unit_amount'] / 100:,.2f} / {interval})"


def _item(st: Store, sub_id: str, price: dict[str, Any], start: int, end: int) -> dict[str, Any]:
    return {
        "id": st.new_id("si", 14),
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": start,
        "current_period_end": end,
        "current_period_start": start,
        "discounts": [],
        "metadata": {},
        "plan": {
            "id": price["id"],
            "object": "plan",
            "active": price["active"],
            "amount": price["unit_amount"],
            "amount_decimal": price["unit_amount_decimal"],
            "billing_scheme": "per_unit",
            "created": price["created"],
            "currency": price["currency"],
            "interval": price["recurring"]["interval"],
            "interval_count": price["recurring"]["interval_count"],
            "livemode": False,
            "metadata": price["metadata"],
            "meter": None,
            "nickname": price["nickname"],
            "product": price["product"],
            "tiers_mode": None,
            "transform_usage": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        },
        "price": copy.deepcopy(price),
        "quantity": 1,
        "subscription": sub_id,
        "tax_rates": [],
    }


def _set_price(item: dict[str, Any], price: dict[str, Any]) -> None:
    item["price"] = copy.deepcopy(price)
    item["plan"].update(
        id=price["id"],
        amount=price["unit_amount"],
        amount_decimal=price["unit_amount_decimal"],
        interval=price["recurring"]["interval"],
        product=price["product"],
        nickname=price["nickname"],
    )


def subscription_create(
    st: Store,
    *,
    customer: dict[str, Any],
    price: dict[str, Any],
    payment_method: dict[str, Any] | None,
    coupon: str | None = None,
    metadata: dict[str, str] | None = None,
    account: str | None = None,
    request: dict[str, Any] | None = None,
) -> dict[str, Any]:
    now = st.now()
    interval = price["recurring"]["interval"]
    end = add_interval(now, interval)
    sub_id = st.new_id("sub")
    sub = {
        "id": sub_id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": now,
        "billing_cycle_anchor_config": None,
        "billing_mode": {"flexible": None, "type": "classic", "updated_at": None},
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": now,
        "currency": price["currency"],
        "customer": customer["id"],
        "days_until_due": None,
        "default_payment_method": payment_method["id"] if payment_method else None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": {
            "object": "list",
            "data": [_item(st, sub_id, price, now, end)],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        "latest_invoice": None,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": now,
        "status": "incomplete",
        "test_clock": None,
        "transfer_data": None,
        "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
        "_pending": [],
        "_anchor_day": datetime.fromtimestamp(now, UTC).day,
    }
    st.put(sub, account)
    if coupon:
        discount = discount_create(
            st, coupon, customer["id"], sub_id, "discounts[0][coupon]", account
        )
        sub["discounts"] = [discount["id"]]
    item = sub["items"]["data"][0]
    line = _price_line(price, price["unit_amount"], now, end, sub, item, _describe(st, price))
    invoice = invoice_create(st, sub, [line], "subscription_create", account)
    paid = invoice_attempt(st, invoice, account, request, emit_sub=False)
    sub["status"] = "active" if paid else "incomplete"
    st.emit("customer.subscription.created", sub, account=account, request=request)
    _emit_invoice_outcome(st, invoice, account, request)
    return sub


def _active_discount(st: Store, sub: dict[str, Any]) -> dict[str, Any] | None:
    for did in sub.get("discounts") or []:
        discount = st.objects.get(did)
        if discount is None:
            continue
        coupon = st.objects.get(discount["source"]["coupon"])
        if coupon is None:
            continue
        if discount["end"] and st.now() >= discount["end"]:
            continue
        if coupon["duration"] == "once" and discount["_once_used"]:
            continue
        return discount
    return None


def invoice_create(
    st: Store,
    sub: dict[str, Any],
    lines: list[dict[str, Any]],
    reason: str,
    account,
    *,
    draft: bool = False,
) -> dict[str, Any]:
    now = st.now()
    customer = st.objects[sub["customer"]]
    invoice_id = st.new_id("in")
    subtotal = sum(line["amount"] for line in lines)
    discount_total = 0
    discount = _active_discount(st, sub) if reason != "subscription_update" else None
    discounts = []
    if discount is not None:
        coupon = st.objects[discount["source"]["coupon"]]
        base = sum(line["amount"] for line in lines if line["amount"] > 0)
        if coupon["percent_off"]:
            discount_total = round(base * coupon["percent_off"] / 100)
        else:
            discount_total = min(base, coupon["amount_off"] or 0)
        discount["_once_used"] = True
        discounts = [discount["id"]]
    total = subtotal - discount_total
    balance = customer["balance"]
    amount_due = max(0, total + balance)
    customer["balance"] = min(0, total + balance)
    number = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
    customer["next_invoice_sequence"] += 1
    period = lines[0]["period"] if lines else {"start": now, "end": now}
    invoice = {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "Nations (local Stripe)",
        "account_tax_ids": None,
        "amount_due": amount_due,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_remaining": amount_due,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": True,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": now + FINALIZE_AFTER if draft else None,
        "billing_reason": reason,
        "collection_method": "charge_automatically",
        "created": now,
        "currency": sub["currency"],
        "custom_fields": None,
        "customer": customer["id"],
        "customer_email": customer["email"],
        "customer_name": customer["name"],
        "default_payment_method": None,
        "description": None,
        "discounts": discounts,
        "due_date": None,
        "effective_at": now,
        "ending_balance": customer["balance"],
        "footer": None,
        "hosted_invoice_url": f"{st.base_url}/i/{invoice_id}",
        "invoice_pdf": f"{st.base_url}/i/{invoice_id}/pdf",
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {
            "object": "list",
            "data": [_line_item(st, invoice_id, sub, line) for line in lines],
            "has_more": False,
            "total_count": len(lines),
            "url": f"/v1/invoices/{invoice_id}/lines",
        },
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": None if draft else number,
        "on_behalf_of": None,
        "parent": {
            "quote_details": None,
            "subscription_details": {"metadata": dict(sub["metadata"]), "subscription": sub["id"]},
            "type": "subscription_details",
        },
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": period["end"],
        "period_start": period["start"],
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": balance,
        "statement_descriptor": None,
        "status": "draft" if draft else "open",
        "status_transitions": {
            "finalized_at": None if draft else now,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subtotal": subtotal,
        "subtotal_excluding_tax": subtotal,
        "test_clock": None,
        "total": total,
        "total_discount_amounts": [{"amount": discount_total, "discount": discounts[0]}]
        if discounts
        else [],
        "total_excluding_tax": total,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": now,
        "_seq": st.seq(),
    }
    if draft:
        invoice["_number"] = number
    st.put(invoice, account)
    sub["latest_invoice"] = invoice_id
    return invoice


def _line_item(
    st: Store, invoice_id: str, sub: dict[str, Any], line: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": st.new_id("il"),
        "object": "line_item",
        "amount": line["amount"],
        "currency": sub["currency"],
        "description": line["description"],
        "discount_amounts": [],
        "discountable": not line["proration"],
        "discounts": [],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": {},
        "parent": {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": line["proration"],
                "proration_details": {"credited_items": None},
                "subscription": line["subscription"],
                "subscription_item": line["subscription_item"],
            },
            "type": "subscription_item_details",
        },
        "period": line["period"],
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": {"price": line["price"], "product": line["product"]},
            "type": "price_details",
            "unit_amount_decimal": str(line["amount"]),
        },
        "quantity": 1,
        "taxes": [],
    }


def _payment_method_for(st: Store, invoice: dict[str, Any]) -> dict[str, Any] | None:
    sub = st.objects.get(invoice["parent"]["subscription_details"]["subscription"]) or {}
    customer = st.objects[invoice["customer"]]
    pm_id = customer["invoice_settings"]["default_payment_method"] or sub.get(
        "default_payment_method"
    )
    return st.objects.get(pm_id) if pm_id else None


def can_charge(pm: dict[str, Any] | None) -> bool:
    return pm is not None and pm["_behaviour"] == "ok"


def invoice_attempt(st: Store, invoice: dict[str, Any], account, request, *, emit_sub=True) -> bool:
    """Try to collect an open invoice; set its outcome and the subscription's status."""
    now = st.now()
    sub = st.objects.get(invoice["parent"]["subscription_details"]["subscription"])
    if invoice["amount_due"] == 0:
        ok = True
    else:
        invoice["attempt_count"] += 1
        invoice["attempted"] = True
        pm = _payment_method_for(st, invoice)
        ok = can_charge(pm)
        if ok:
            _invoice_charge(st, invoice, pm, account)
    if ok:
        invoice.update(
            status="paid",
            amount_paid=invoice["amount_due"],
            amount_remaining=0,
            next_payment_attempt=None,
            attempted=True,
        )
        invoice["status_transitions"]["paid_at"] = now
        invoice["_outcome"] = "paid"
    else:
        invoice["_outcome"] = "failed"
        attempts = invoice["attempt_count"]
        invoice["next_payment_attempt"] = (
            now + RETRY_DAYS[attempts - 1] * DAY if attempts <= len(RETRY_DAYS) else None
        )
    if sub is not None and emit_sub and sub["status"] != "canceled":
        previous = sub["status"]
        open_left = [
            i
            for i in st.find("invoice", account, customer=sub["customer"], status="open")
            if i["parent"]["subscription_details"]["subscription"] == sub["id"]
        ]
        if ok and not open_left:
            sub["status"] = "active"
        elif not ok:
            sub["status"] = "unpaid" if invoice["next_payment_attempt"] is None else "past_due"
        _emit_invoice_outcome(st, invoice, account, request)
        if sub["status"] != previous:
            st.emit(
                "customer.subscription.updated",
                sub,
                account=account,
                previous={"status": previous},
                request=request,
            )
    return ok


def _emit_invoice_outcome(st: Store, invoice, account, request) -> None:
    outcome = invoice.pop("_outcome", None)
    if outcome == "paid":
        st.emit("invoice.paid", invoice, account=account, request=request)
        st.emit("invoice.payment_succeeded", invoice, account=account, request=request)
    elif outcome == "failed":
        st.emit("invoice.payment_failed", invoice, account=account, request=request)


FINALIZE_AFTER = 3600  # a renewal's draft invoice is finalized (and charged) an hour later


def subscription_renew(st: Store, sub: dict[str, Any], account) -> None:
    """The period ended: cancel (if asked), else start the next period and invoice it.

    As on Stripe, the renewal's invoice starts as a `draft` (invoice.created) and is finalized
    and charged an hour later (`automatically_finalizes_at`, processed by the clock): until
    then a webhook may finalize it without collection and void it. With `pause_collection`
    (behavior=void) the invoice is created and voided at once, nothing is charged; collection
    resumes at `resumes_at`."""
    now = st.now()
    if sub["cancel_at_period_end"]:
        sub.update(status="canceled", ended_at=now)
        st.emit("customer.subscription.deleted", sub, account=account)
        return
    pause = sub.get("pause_collection")
    if pause and pause.get("resumes_at") and now >= pause["resumes_at"]:
        sub["pause_collection"] = None
        st.emit(
            "customer.subscription.updated",
            sub,
            account=account,
            previous={"pause_collection": pause},
        )
        pause = None
    item = sub["items"]["data"][0]
    price = st.objects[item["price"]["id"]]
    start = item["current_period_end"]
    end = add_interval(start, price["recurring"]["interval"], anchor_day=sub["_anchor_day"])
    previous = {"items": copy.deepcopy(sub["items"]), "latest_invoice": sub["latest_invoice"]}
    item["current_period_start"], item["current_period_end"] = start, end
    lines = sub["_pending"] + [
        _price_line(price, price["unit_amount"], start, end, sub, item, _describe(st, price))
    ]
    sub["_pending"] = []
    invoice = invoice_create(st, sub, lines, "subscription_cycle", account, draft=True)
    st.emit("invoice.created", invoice, account=account)
    st.emit("customer.subscription.updated", sub, account=account, previous=previous)
    if pause and pause.get("behavior") == "void":
        invoice_finalize(st, invoice, account, None, auto_advance=False)
        invoice_void(st, invoice, account, None)
    elif pause:  # keep_as_draft / mark_uncollectible: left as a draft that never advances
        invoice["auto_advance"] = False
        invoice["automatically_finalizes_at"] = None


def invoice_finalize(st: Store, invoice: dict[str, Any], account, request, *, auto_advance: bool):
    """draft -> open (numbered); with auto_advance the payment is attempted right away."""
    if invoice["status"] != "draft":
        raise StripeError(
            "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
            code="invoice_not_editable",
        )
    now = st.now()
    invoice.update(
        status="open",
        number=invoice.pop("_number"),
        auto_advance=auto_advance,
        automatically_finalizes_at=None,
        effective_at=now,
    )
    invoice["status_transitions"]["finalized_at"] = now
    st.emit("invoice.finalized", invoice, account=account, request=request)
    if auto_advance:
        invoice_attempt(st, invoice, account, request)


def invoice_void(st: Store, invoice: dict[str, Any], account, request) -> None:
    if invoice["status"] not in ("open", "uncollectible"):
        raise StripeError(
            f"You can only pass in open or uncollectible invoices. This invoice is {invoice['status']}.",
            code="invoice_not_open",
        )
    invoice.update(status="void", amount_remaining=0, next_payment_attempt=None, auto_advance=False)
    invoice["status_transitions"]["voided_at"] = st.now()
    st.emit("invoice.voided", invoice, account=account, request=request)
    sub = st.objects.get(invoice["parent"]["subscription_details"]["subscription"])
    if sub is not None and sub["status"] in ("past_due", "unpaid"):
        open_left = [
            i
            for i in st.find("invoice", account, customer=sub["customer"], status="open")
            if i["parent"]["subscription_details"]["subscription"] == sub["id"]
        ]
        if not open_left:
            previous = sub["status"]
            sub["status"] = "active"
            st.emit(
                "customer.subscription.updated",
                sub,
                account=account,
                previous={"status": previous},
                request=request,
            )


def _sub_get(req: Request, sid: str) -> dict[str, Any]:
    return req.store.get("subscription", sid, req.account)


@route("GET", "/v1/subscriptions/(?P<sid>[^/]+)")
def _subscriptions_retrieve(req: Request, sid: str):
    return _sub_get(req, sid)


@route("GET", "/v1/subscriptions")
def _subscriptions_list(req: Request):
    items = req.store.find("subscription", req.account)
    p = req.params
    if p.get("customer"):
        items = [s for s in items if s["customer"] == p["customer"]]
    status = p.get("status")
    if status and status != "all":
        items = [s for s in items if s["status"] == status]
    elif not status:
        items = [s for s in items if s["status"] != "canceled"]
    return list_response(req, items, "/v1/subscriptions")


@route("POST", "/v1/subscriptions")
def _subscriptions_create(req: Request):
    st, p = req.store, req.params
    customer = st.get("customer", p.get("customer", ""), req.account)
    items = p.get("items") or []
    if not items:
        raise StripeError("Missing required param: items.", param="items")
    price = st.get("price", items[0].get("price", ""), req.account)
    pm_id = (
        p.get("default_payment_method") or customer["invoice_settings"]["default_payment_method"]
    )
    pm = st.get("payment_method", pm_id, req.account, "PaymentMethod") if pm_id else None
    coupon = ((p.get("discounts") or [{}])[0] or {}).get("coupon")
    return subscription_create(
        st,
        customer=customer,
        price=price,
        payment_method=pm,
        coupon=coupon,
        metadata=p.get("metadata"),
        account=req.account,
        request=req.event_request,
    )


@route("POST", "/v1/subscriptions/(?P<sid>[^/]+)")
def _subscriptions_update(req: Request, sid: str):
    st, p = req.store, req.params
    sub = _sub_get(req, sid)
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise StripeError(
            "A canceled subscription can only update its cancellation_details and metadata.",
            param="items",
        )
    previous: dict[str, Any] = {}
    now = st.now()
    item = sub["items"]["data"][0]
    new_price = None
    for entry in p.get("items") or []:
        if entry.get("id") and entry["id"] != item["id"]:
            raise missing("subscription_item", entry["id"], "items[0][id]")
        if entry.get("price"):
            new_price = st.get("price", entry["price"], req.account)
            if not new_price["active"]:
                raise StripeError(
                    f"The price specified is inactive: {new_price['id']}.", param="items[0][price]"
                )
            if new_price["type"] != "recurring":
                raise StripeError("The price must be recurring.", param="items[0][price]")
    proration = p.get("proration_behavior", "create_prorations")
    invoice_lines: list[dict[str, Any]] = []
    reset_anchor = False
    if new_price is not None and new_price["id"] != item["price"]["id"]:
        old = st.objects[item["price"]["id"]]
        start, end = item["current_period_start"], item["current_period_end"]
        fraction = max(0.0, (end - now) / max(1, end - start))
        reset_anchor = (
            old["recurring"]["interval"] != new_price["recurring"]["interval"]
            or p.get("billing_cycle_anchor") == "now"
        )
        credit = -round(old["unit_amount"] * fraction)
        lines = []
        if proration != "none" and credit:
            lines.append(
                _price_line(
                    old, credit, now, end, sub, item, f"Unused time on {_describe(st, old)}", True
                )
            )
        if reset_anchor:
            new_end = add_interval(now, new_price["recurring"]["interval"])
            lines.append(
                _price_line(
                    new_price,
                    new_price["unit_amount"],
                    now,
                    new_end,
                    sub,
                    item,
                    _describe(st, new_price),
                )
            )
            invoice_lines = lines
        else:
            charge = round(new_price["unit_amount"] * fraction)
            if proration != "none":
                lines.append(
                    _price_line(
                        new_price,
                        charge,
                        now,
                        end,
                        sub,
                        item,
                        f"Remaining time on {_describe(st, new_price)}",
                        True,
                    )
                )
            if proration == "always_invoice":
                invoice_lines = lines
            else:
                sub["_pending"].extend(lines)
        if invoice_lines and p.get("payment_behavior") == "error_if_incomplete":
            customer = st.objects[sub["customer"]]
            due = sum(line["amount"] for line in invoice_lines) + customer["balance"]
            pm_id = (
                customer["invoice_settings"]["default_payment_method"]
                or sub["default_payment_method"]
            )
            if due > 0 and not can_charge(st.objects.get(pm_id) if pm_id else None):
                raise card_error("Your card was declined.")
        previous["items"] = copy.deepcopy(sub["items"])
        _set_price(item, new_price)
        if reset_anchor:
            item["current_period_start"] = now
            item["current_period_end"] = add_interval(now, new_price["recurring"]["interval"])
            sub["billing_cycle_anchor"] = now
            sub["_anchor_day"] = datetime.fromtimestamp(now, UTC).day
    if "cancel_at_period_end" in p:
        wanted = _bool(p["cancel_at_period_end"])
        if wanted != sub["cancel_at_period_end"]:
            previous["cancel_at_period_end"] = sub["cancel_at_period_end"]
            sub["cancel_at_period_end"] = wanted
            sub["cancel_at"] = item["current_period_end"] if wanted else None
            sub["canceled_at"] = now if wanted else None
    if "discounts" in p:
        previous["discounts"] = list(sub["discounts"])
        sub["discounts"] = []
        for i, entry in enumerate(p["discounts"] or []):
            if entry.get("coupon"):
                discount = discount_create(
                    st,
                    entry["coupon"],
                    sub["customer"],
                    sid,
                    f"discounts[{i}][coupon]",
                    req.account,
                )
                sub["discounts"].append(discount["id"])
    if "pause_collection" in p:
        pause = p["pause_collection"]
        previous["pause_collection"] = sub["pause_collection"]
        if not pause:
            sub["pause_collection"] = None
        else:
            if pause.get("behavior") not in ("keep_as_draft", "mark_uncollectible", "void"):
                raise StripeError(
                    "Invalid pause_collection[behavior]: must be one of keep_as_draft, "
                    "mark_uncollectible, or void",
                    param="pause_collection[behavior]",
                )
            resumes_at = pause.get("resumes_at")
            sub["pause_collection"] = {
                "behavior": pause["behavior"],
                "resumes_at": _int(resumes_at, "pause_collection[resumes_at]")
                if resumes_at
                else None,
            }
    if "default_payment_method" in p:
        pm = st.get("payment_method", p["default_payment_method"], req.account, "PaymentMethod")
        sub["default_payment_method"] = pm["id"]
    if "metadata" in p:
        previous["metadata"] = dict(sub["metadata"])
        sub["metadata"] = _metadata(sub["metadata"], p["metadata"])
    st.emit(
        "customer.subscription.updated",
        sub,
        account=req.account,
        previous=previous,
        request=req.event_request,
    )
    if invoice_lines:
        invoice = invoice_create(st, sub, invoice_lines, "subscription_update", req.account)
        st.emit("invoice.created", invoice, account=req.account, request=req.event_request)
        invoice_attempt(st, invoice, req.account, req.event_request)
    return sub


@route("DELETE", "/v1/subscriptions/(?P<sid>[^/]+)")
def _subscriptions_cancel(req: Request, sid: str):
    sub = _sub_get(req, sid)
    if sub["status"] == "canceled":
        raise StripeError("This subscription is already canceled.", param="subscription")
    now = req.store.now()
    sub.update(status="canceled", ended_at=now, canceled_at=now)
    sub["cancellation_details"]["reason"] = "cancellation_requested"
    # As on Stripe: cancelling stops automatic collection of the subscription's invoices.
    for invoice in req.store.find("invoice", req.account, customer=sub["customer"]):
        if invoice["parent"]["subscription_details"]["subscription"] == sid and invoice[
            "status"
        ] in ("draft", "open"):
            invoice.update(auto_advance=False, next_payment_attempt=None)
            invoice["automatically_finalizes_at"] = None
    req.store.emit(
        "customer.subscription.deleted", sub, account=req.account, request=req.event_request
    )
    return sub


@route("GET", "/v1/invoices")
def _invoices_list(req: Request):
    p = req.params
    items = req.store.find("invoice", req.account)
    if p.get("customer"):
        items = [i for i in items if i["customer"] == p["customer"]]
    if p.get("subscription"):
        items = [
            i
            for i in items
            if i["parent"]["subscription_details"]["subscription"] == p["subscription"]
        ]
    if p.get("status"):
        items = [i for i in items if i["status"] == p["status"]]
    return list_response(req, items, "/v1/invoices")


@route("GET", "/v1/invoices/(?P<iid>in_[^/]+)")
def _invoices_retrieve(req: Request, iid: str):
    return req.store.get("invoice", iid, req.account)


@route("POST", "/v1/invoices/(?P<iid>in_[^/]+)")
def _invoices_update(req: Request, iid: str):
    invoice = req.store.get("invoice", iid, req.account)
    p = req.params
    if "auto_advance" in p:
        if invoice["status"] not in ("draft", "open"):
            raise StripeError("Only draft or open invoices can change auto_advance.")
        invoice["auto_advance"] = _bool(p["auto_advance"])
        if invoice["status"] == "draft" and not invoice["auto_advance"]:
            invoice["automatically_finalizes_at"] = None
    if "metadata" in p:
        invoice["metadata"] = _metadata(invoice["metadata"], p["metadata"])
    req.store.emit("invoice.updated", invoice, account=req.account, request=req.event_request)
    return invoice


@route("DELETE", "/v1/invoices/(?P<iid>in_[^/]+)")
def _invoices_delete(req: Request, iid: str):
    invoice = req.store.get("invoice", iid, req.account)
    if invoice["status"] != "draft" or invoice["parent"]["subscription_details"]:
        raise StripeError(
            "You can only delete draft invoices that are not for a subscription; void it instead.",
            code="invoice_not_editable",
        )
    req.store.objects.pop(iid)
    req.store.emit("invoice.deleted", invoice, account=req.account, request=req.event_request)
    return {"id": iid, "object": "invoice", "deleted": True}


@route("POST", "/v1/invoices/(?P<iid>in_[^/]+)/finalize")
def _invoices_finalize(req: Request, iid: str):
    invoice = req.store.get("invoice", iid, req.account)
    auto = _bool(req.params.get("auto_advance", str(invoice["auto_advance"])))
    invoice_finalize(req.store, invoice, req.account, req.event_request, auto_advance=auto)
    return invoice


@route("POST", "/v1/invoices/(?P<iid>in_[^/]+)/void")
def _invoices_void(req: Request, iid: str):
    invoice = req.store.get("invoice", iid, req.account)
    invoice_void(req.store, invoice, req.account, req.event_request)
    return invoice


@route("GET", "/v1/invoice_payments")
def _invoice_payments_list(req: Request):
    p = req.params
    items = req.store.find("invoice_payment", req.account)
    if p.get("invoice"):
        items = [i for i in items if i["invoice"] == p["invoice"]]
    payment = p.get("payment") or {}
    if payment.get("payment_intent"):
        items = [i for i in items if i["payment"]["payment_intent"] == payment["payment_intent"]]
    return list_response(req, items, "/v1/invoice_payments")


@route("GET", "/v1/invoice_payments/(?P<ipid>inpay_[^/]+)")
def _invoice_payments_retrieve(req: Request, ipid: str):
    return req.store.get("invoice_payment", ipid, req.account)


def _invoice_charge(st: Store, invoice: dict[str, Any], pm: dict[str, Any], account) -> None:
    """A paid invoice's money moves as on Stripe: a PaymentIntent and its Charge, linked to the
    invoice by an InvoicePayment (so a renewal can be refunded like any payment)."""
    from .connect import _charge, payment_intent_create

    pi = payment_intent_create(
        st,
        amount=invoice["amount_due"],
        currency=invoice["currency"],
        customer=invoice["customer"],
        metadata={},
        account=account,
        description=f"Subscription {invoice['billing_reason'].replace('_', ' ')}",
    )
    charge = _charge(st, pi, pm, account)
    pi.update(
        status="succeeded",
        amount_received=pi["amount"],
        latest_charge=charge["id"],
        payment_method=pm["id"],
    )
    now = st.now()
    st.put(
        {
            "id": st.new_id("inpay"),
            "object": "invoice_payment",
            "amount_paid": invoice["amount_due"],
            "amount_requested": invoice["amount_due"],
            "created": now,
            "currency": invoice["currency"],
            "invoice": invoice["id"],
            "is_default": True,
            "livemode": False,
            "payment": {"payment_intent": pi["id"], "type": "payment_intent"},
            "status": "paid",
            "status_transitions": {"canceled_at": None, "paid_at": now},
        },
        account,
    )


@route("POST", "/v1/invoices/(?P<iid>in_[^/]+)/pay")
def _invoices_pay(req: Request, iid: str):
    st = req.store
    invoice = st.get("invoice", iid, req.account)
    if invoice["status"] != "open":
        raise StripeError("Invoice is already paid.", code="invoice_not_open")
    if req.params.get("payment_method"):
        pm = _payment_method_from(req, req.params["payment_method"])
        payment_method_attach(st, pm, invoice["customer"])
        st.objects[invoice["customer"]]["invoice_settings"]["default_payment_method"] = pm["id"]
    if not invoice_attempt(st, invoice, req.account, req.event_request):
        raise card_error("Your card was declined.")
    return invoice


def retry_open_invoices(st: Store, customer_id: str, account) -> None:
    for invoice in sorted(
        st.find("invoice", account, customer=customer_id, status="open"), key=lambda i: i["created"]
    ):
        invoice_attempt(st, invoice, account, None)


# --- checkout and the billing portal ---------------------------------------------------------
@route("POST", "/v1/checkout/sessions")
def _checkout_create(req: Request):
    st, p = req.store, req.params
    mode = p.get("mode")
    if mode == "payment":
        from .connect import checkout_payment_create

        return checkout_payment_create(req)
    if mode != "subscription":
        raise StripeError(
            "The local Stripe server supports mode=subscription so far.", param="mode"
        )
    if not p.get("success_url"):
        raise StripeError("Missing required param: success_url.", param="success_url")
    line_items = p.get("line_items") or []
    if len(line_items) != 1:
        raise StripeError("Provide exactly one line item.", param="line_items")
    price = st.get("price", line_items[0].get("price", ""), req.account)
    if not price["active"]:
        raise StripeError(
            f"The price specified is inactive: {price['id']}.", param="line_items[0][price]"
        )
    if price["type"] != "recurring":
        raise StripeError(
            "You must provide at least one recurring price in `subscription` mode when using prices.",
            param="line_items[0][price]",
        )
    customer = st.get("customer", p["customer"], req.account) if p.get("customer") else None
    discounts = []
    amount_discount = 0
    for i, entry in enumerate(p.get("discounts") or []):
        cid = entry.get("coupon", "")
        coupon = st.objects.get(cid)
        param = f"discounts[{i}][coupon]"
        if coupon is None or coupon["object"] != "coupon" or coupon.get("_account") != req.account:
            raise missing("coupon", cid, param)
        if not coupon_valid(st, coupon):
            raise StripeError(
                f"Coupon {cid} is no longer valid.", param=param, code="coupon_expired"
            )
        discounts.append({"coupon": cid, "promotion_code": None})
        amount_discount = (
            round(price["unit_amount"] * coupon["percent_off"] / 100)
            if coupon["percent_off"]
            else min(price["unit_amount"], coupon["amount_off"] or 0)
        )
    now = st.now()
    session_id = st.new_id("cs_test", 58)
    session = {
        "id": session_id,
        "object": "checkout.session",
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": price["unit_amount"],
        "amount_total": price["unit_amount"] - amount_discount,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": p.get("cancel_url"),
        "client_reference_id": p.get("client_reference_id"),
        "client_secret": None,
        "created": now,
        "currency": price["currency"],
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": customer["id"] if customer else None,
        "customer_creation": None if customer else "always",
        "customer_details": None,
        "customer_email": p.get("customer_email"),
        "discounts": discounts,
        "expires_at": now + DAY,
        "invoice": None,
        "invoice_creation": None,
        "livemode": False,
        "locale": p.get("locale"),
        "metadata": _metadata({}, p.get("metadata")),
        "mode": "subscription",
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "always",
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": p["success_url"],
        "total_details": {
            "amount_discount": amount_discount,
            "amount_shipping": 0,
            "amount_tax": 0,
        },
        "ui_mode": "hosted",
        "url": f"{st.base_url}/c/pay/{session_id}",
        "_price": price["id"],
        "_subscription_data": p.get("subscription_data") or {},
    }
    return st.put(session, req.account)


@route("GET", "/v1/checkout/sessions/(?P<sid>cs_[^/]+)")
def _checkout_retrieve(req: Request, sid: str):
    session = req.store.get("checkout.session", sid, req.account, "checkout.session")
    if session["status"] == "open" and req.store.now() > session["expires_at"]:
        session["status"] = "expired"
    return session


@route("POST", "/v1/checkout/sessions/(?P<sid>cs_[^/]+)/expire")
def _checkout_expire(req: Request, sid: str):
    session = req.store.get("checkout.session", sid, req.account, "checkout.session")
    if session["status"] != "open":
        raise StripeError("Only open sessions can be expired.")
    session["status"] = "expired"
    req.store.emit(
        "checkout.session.expired", session, account=req.account, request=req.event_request
    )
    return session


def checkout_complete(
    st: Store, session: dict[str, Any], *, email: str, name: str, number: str, exp
) -> None:
    """The hosted page's "pay" button: card checks, customer, subscription, then the event."""
    account = session.get("_account")
    pm = payment_method_create(st, number, account, exp)
    if pm["_behaviour"] == "decline":
        st.objects.pop(pm["id"])
        raise card_error("Your card was declined.")
    if session["customer"]:
        customer = st.objects[session["customer"]]
    else:
        customer = customer_create(
            st, {"email": email or session["customer_email"], "name": name}, account
        )
        st.emit("customer.created", customer, account=account)
    payment_method_attach(st, pm, customer["id"])
    customer["invoice_settings"]["default_payment_method"] = pm["id"]
    pm["billing_details"]["name"] = name or None
    data = session["_subscription_data"]
    coupon = session["discounts"][0]["coupon"] if session["discounts"] else None
    sub = subscription_create(
        st,
        customer=customer,
        price=st.objects[session["_price"]],
        payment_method=pm,
        coupon=coupon,
        metadata=data.get("metadata"),
        account=account,
    )
    session.update(
        status="complete",
        payment_status="paid" if sub["status"] == "active" else "unpaid",
        customer=customer["id"],
        subscription=sub["id"],
        invoice=sub["latest_invoice"],
        customer_details={
            "address": None,
            "email": customer["email"],
            "name": name or None,
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
    )
    st.emit("checkout.session.completed", session, account=account)


@route("POST", "/v1/billing_portal/sessions")
def _portal_create(req: Request):
    st, p = req.store, req.params
    customer = st.get("customer", p.get("customer", ""), req.account)
    session_id = st.new_id("bps")
    return st.put(
        {
            "id": session_id,
            "object": "billing_portal.session",
            "configuration": "bpc_local_default",
            "created": st.now(),
            "customer": customer["id"],
            "flow": None,
            "livemode": False,
            "locale": p.get("locale"),
            "on_behalf_of": None,
            "return_url": p.get("return_url"),
            "url": f"{st.base_url}/p/session/{session_id}",
        },
        req.account,
    )


# --- events and the clock --------------------------------------------------------------------
@route("GET", "/v1/events/(?P<eid>evt_[^/]+)")
def _events_retrieve(req: Request, eid: str):
    return req.store.get("event", eid, req.account)


@route("GET", "/v1/events")
def _events_list(req: Request):
    items = req.store.find("event", req.account)
    if req.params.get("type"):
        items = [e for e in items if e["type"] == req.params["type"]]
    return list_response(req, items, "/v1/events")


def advance(st: Store, target: int) -> int:
    """Move the clock to `target`, processing every renewal and retry due on the way, in order."""
    import time

    processed = 0
    while True:
        due: list[tuple[int, int, str, dict[str, Any]]] = []
        for obj in st.objects.values():
            if obj["object"] == "subscription" and obj["status"] in (
                "active",
                "past_due",
                "trialing",
            ):
                due.append((obj["items"]["data"][0]["current_period_end"], 0, "renew", obj))
            elif (
                obj["object"] == "invoice"
                and obj["status"] == "open"
                and obj["next_payment_attempt"]
            ):
                due.append((obj["next_payment_attempt"], 1, "retry", obj))
            elif (
                obj["object"] == "invoice"
                and obj["status"] == "draft"
                and obj["auto_advance"]
                and obj["automatically_finalizes_at"]
            ):
                due.append((obj["automatically_finalizes_at"], 1, "finalize", obj))
        due = [d for d in due if d[0] <= target]
        if not due:
            break
        when, _order, kind, obj = min(due, key=lambda d: (d[0], d[1]))
        st.offset = max(st.offset, when - int(time.time()))
        if kind == "renew":
            subscription_renew(st, obj, obj.get("_account"))
        elif kind == "finalize":
            invoice_finalize(st, obj, obj.get("_account"), None, auto_advance=True)
        else:
            invoice_attempt(st, obj, obj.get("_account"), None)
        processed += 1
    st.offset = max(st.offset, target - int(time.time()))
    return processed


@route("GET", "/_local/clock")
def _clock(req: Request):
    return {"object": "local.clock", "now": req.store.now(), "offset": req.store.offset}


@route("POST", "/_local/clock/advance")
def _clock_advance(req: Request):
    st, p = req.store, req.params
    if p.get("to"):
        target = _int(p["to"], "to")
    else:
        target = st.now() + _int(p.get("seconds", 0), "seconds")
    if target < st.now():
        raise StripeError("The clock only moves forward.", param="to")
    processed = advance(st, target)
    return {"object": "local.clock", "now": st.now(), "processed": processed}


@route("POST", "/_local/webhooks/drain")
def _webhooks_drain(req: Request):
    return {"object": "list", "data": req.store.drain()}
