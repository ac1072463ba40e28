"""The hosted pages of the local Stripe server: Checkout's pay page, the billing portal, invoices.

They stand in for checkout.stripe.com and billing.stripe.com: a browser (or a test posting the
form) pays with a test card number, and is sent back to the success_url / return_url."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from . import billing
from .server import Html, Redirect, Request, route
from .store import StripeError

STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f8fa;color:#1a1f36}
main{max-width:460px;margin:32px auto;background:#fff;border-radius:8px;padding:24px;
box-shadow:0 1px 3px rgba(0,0,0,.12)}h1{font-size:22px;margin:0 0 4px}.amount{font-size:32px;
font-weight:600}.muted{color:#596171}label{display:block;margin-top:12px;font-weight:500}
input{width:100%;box-sizing:border-box;padding:10px;font-size:16px;border:1px solid #c0c8d2;
border-radius:6px}button{margin-top:20px;width:100%;padding:12px;font-size:16px;border:0;
border-radius:6px;background:#635bff;color:#fff;cursor:pointer}.error{background:#fde8e8;
color:#8a1c1c;padding:10px;border-radius:6px;margin-top:12px}.ok{background:#e6f4ea;
color:#1e5b2c;padding:10px;border-radius:6px}table{width:100%;border-collapse:collapse}
td,th{padding:6px 4px;border-bottom:1px solid #e3e8ee;text-align:left}.row{display:flex;gap:12px}
.row>div{flex:1}.badge{font-size:13px;padding:2px 8px;border-radius:10px;background:#e3e8ee}
.linkbtn{background:none;color:#635bff;padding:0;width:auto;margin:0;text-decoration:underline}
"""


def money(amount: int, currency: str) -> str:
    sign = "-" if amount < 0 else ""
    symbol = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$"}.get(
        currency, currency.upper() + " "
    )
    return f"{sign}{symbol}{abs(amount) / 100:,.2f}"


def day(ts: int | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%d %b %Y") if ts else "—"


def page(title: str, body: str, status: int = 200) -> Html:
    return Html(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}<p class='muted' style='margin-top:24px;font-size:13px'>"
        f"Local Stripe test server — no real money moves.</p></main></body></html>",
        status,
    )


def _card_fields(error: str = "") -> str:
    return (
        (f'<div class="error" role="alert">{escape(error)}</div>' if error else "")
        + '<label for="card_number">Card number</label>'
        '<input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number" '
        'placeholder="4242 4242 4242 4242" required>'
        '<div class="row"><div><label for="exp">Expiry (MM / YY)</label>'
        '<input id="exp" name="exp" placeholder="12 / 34" value="12 / 34"></div>'
        '<div><label for="cvc">CVC</label><input id="cvc" name="cvc" value="123"></div></div>'
        '<label for="cardholder">Name on card</label>'
        '<input id="cardholder" name="name" autocomplete="cc-name">'
    )


def _exp(raw: str) -> tuple[int, int]:
    try:
        month, year = (int(x) for x in raw.replace(" ", "").split("/"))
    except ValueError:
        return 12, 2034
    return month, 2000 + year if year < 100 else year


def _checkout_page(st, session: dict[str, Any], error: str = "") -> Html:
    price = st.objects[session["_price"]]
    product = st.objects[price["product"]]
    interval = (price.get("recurring") or {}).get("interval")
    if session["status"] != "open":
        return page("Checkout", "<h1>This checkout session is no longer open.</h1>", 410)
    discount = ""
    if session["total_details"]["amount_discount"]:
        discount = (
            f'<p class="muted">Discount {session["discounts"][0]["coupon"]}: '
            f"−{money(session['total_details']['amount_discount'], session['currency'])}</p>"
        )
    email = session["customer_email"] or ""
    if session["customer"]:
        email = st.objects[session["customer"]]["email"] or email
    cancel = (
        f'<p><a href="{escape(session["cancel_url"])}">← Back</a></p>'
        if session["cancel_url"]
        else ""
    )
    verb = "Subscribe" if interval else "Pay"
    per = f" <span class='muted'>per {interval}</span>" if interval else ""
    body = (
        f"{cancel}<p class='muted'>{verb} {'to' if interval else ''}</p>"
        f"<h1>{escape(product['name'])}</h1>"
        f"<p><span class='amount'>{money(session['amount_total'], session['currency'])}</span>"
        f"{per}</p>{discount}"
        f'<form method="post"><label for="email">Email</label>'
        f'<input id="email" name="email" type="email" value="{escape(email)}" required>'
        f'{_card_fields(error)}<button type="submit">{verb}</button></form>'
    )
    return page(f"{verb} {product['name']}", body, 402 if error else 200)


@route("GET", "/c/pay/(?P<sid>cs_[^/]+)")
def checkout_page(req: Request, sid: str):
    session = req.store.objects.get(sid)
    if not session or session["object"] != "checkout.session":
        return page("Checkout", "<h1>Unknown checkout session.</h1>", 404)
    return _checkout_page(req.store, session)


@route("POST", "/c/pay/(?P<sid>cs_[^/]+)")
def checkout_pay(req: Request, sid: str):
    st, p = req.store, req.params
    session = st.objects.get(sid)
    if not session or session["object"] != "checkout.session":
        return page("Checkout", "<h1>Unknown checkout session.</h1>", 404)
    if session["status"] != "open":
        return _checkout_page(st, session)
    complete = billing.checkout_complete
    if session["mode"] == "payment":
        from .connect import payment_checkout_complete as complete
    try:
        complete(
            st,
            session,
            email=p.get("email", ""),
            name=p.get("name", ""),
            number=p.get("card_number", ""),
            exp=_exp(p.get("exp", "")),
        )
    except StripeError as error:
        return _checkout_page(st, session, error.body["message"])
    return Redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", sid))


def _portal(st, session, message: str = "", error: str = "") -> Html:
    customer = st.objects[session["customer"]]
    account = session.get("_account")
    subs = [
        s
        for s in st.find("subscription", account, customer=customer["id"])
        if s["status"] != "canceled"
    ]
    pm_id = customer["invoice_settings"]["default_payment_method"]
    pm = st.objects.get(pm_id) if pm_id else None
    parts = []
    if session["return_url"]:
        parts.append(f'<p><a href="{escape(session["return_url"])}">← Return to Nations</a></p>')
    parts.append(f"<h1>Billing</h1><p class='muted'>{escape(customer['email'] or '')}</p>")
    if message:
        parts.append(f'<div class="ok" role="status">{escape(message)}</div>')
    for sub in subs:
        item = sub["items"]["data"][0]
        product = st.objects.get(item["price"]["product"], {})
        amount = money(item["price"]["unit_amount"], sub["currency"])
        state = (
            f"Cancels on {day(item['current_period_end'])}"
            if sub["cancel_at_period_end"]
            else f"Renews on {day(item['current_period_end'])}"
        )
        action = "renew" if sub["cancel_at_period_end"] else "cancel"
        label = "Don't cancel" if sub["cancel_at_period_end"] else "Cancel plan"
        parts.append(
            f"<h2>{escape(product.get('name', ''))}</h2><p>{amount} per "
            f"{item['price']['recurring']['interval']} · <span class='badge'>{sub['status']}</span>"
            f"<br>{state}</p>"
            f'<form method="post"><input type="hidden" name="action" value="{action}">'
            f'<input type="hidden" name="subscription" value="{sub["id"]}">'
            f'<button class="linkbtn" type="submit">{label}</button></form>'
        )
    card = f"{pm['card']['brand'].title()} •••• {pm['card']['last4']}" if pm else "No card on file"
    parts.append(
        f"<h2>Payment method</h2><p>{escape(card)}</p>"
        f'<form method="post"><input type="hidden" name="action" value="update_card">'
        f'{_card_fields(error)}<button type="submit">Update card</button></form>'
    )
    rows = "".join(
        f"<tr><td>{day(i['created'])}</td><td>{money(i['total'], i['currency'])}</td>"
        f'<td>{i["status"]}</td><td><a href="{i["hosted_invoice_url"]}">View</a> · '
        f'<a href="{i["invoice_pdf"]}">PDF</a></td></tr>'
        for i in st.find("invoice", account, customer=customer["id"])
    )
    parts.append(
        "<h2>Invoices</h2><table><thead><tr><th>Date</th><th>Amount</th><th>Status</th><th></th>"
        f"</tr></thead><tbody>{rows or '<tr><td colspan=4>No invoices yet.</td></tr>'}</tbody></table>"
    )
    return page("Billing", "".join(parts), 402 if error else 200)


@route("GET", "/p/session/(?P<sid>bps_[^/]+)")
def portal_page(req: Request, sid: str):
    session = req.store.objects.get(sid)
    if not session or session["object"] != "billing_portal.session":
        return page("Billing", "<h1>This link has expired.</h1>", 404)
    return _portal(req.store, session)


@route("POST", "/p/session/(?P<sid>bps_[^/]+)")
def portal_action(req: Request, sid: str):
    st, p = req.store, req.params
    session = st.objects.get(sid)
    if not session or session["object"] != "billing_portal.session":
        return page("Billing", "<h1>This link has expired.</h1>", 404)
    account = session.get("_account")
    customer = st.objects[session["customer"]]
    action = p.get("action")
    if action == "update_card":
        try:
            pm = billing.payment_method_create(
                st, p.get("card_number", ""), account, _exp(p.get("exp", ""))
            )
            billing.payment_method_attach(st, pm, customer["id"])
        except StripeError as error:
            return _portal(st, session, error=error.body["message"])
        customer["invoice_settings"]["default_payment_method"] = pm["id"]
        st.emit("payment_method.attached", pm, account=account)
        st.emit("customer.updated", customer, account=account)
        billing.retry_open_invoices(st, customer["id"], account)
        return _portal(st, session, message="Your card was updated.")
    if action in ("cancel", "renew"):
        sub = st.objects.get(p.get("subscription", ""))
        if not sub or sub["customer"] != customer["id"]:
            return _portal(st, session, error="Unknown subscription.")
        previous = {"cancel_at_period_end": sub["cancel_at_period_end"]}
        wanted = action == "cancel"
        sub["cancel_at_period_end"] = wanted
        end = sub["items"]["data"][0]["current_period_end"]
        sub["cancel_at"] = end if wanted else None
        sub["canceled_at"] = st.now() if wanted else None
        st.emit("customer.subscription.updated", sub, account=account, previous=previous)
        text = f"Your plan will end on {day(end)}." if wanted else "Your plan will renew."
        return _portal(st, session, message=text)
    return _portal(st, session, error="Unknown action.")


@route("GET", "/i/(?P<iid>in_[^/]+)")
def invoice_page(req: Request, iid: str):
    invoice = req.store.objects.get(iid)
    if not invoice or invoice["object"] != "invoice":
        return page("Invoice", "<h1>Unknown invoice.</h1>", 404)
    rows = "".join(
        f"<tr><td>{escape(line['description'])}</td><td>{money(line['amount'], invoice['currency'])}</td></tr>"
        for line in invoice["lines"]["data"]
    )
    body = (
        f"<h1>Invoice {invoice['number']}</h1><p class='muted'>{escape(invoice['account_name'])} · "
        f"{day(invoice['created'])} · <span class='badge'>{invoice['status']}</span></p>"
        f"<table><tbody>{rows}</tbody></table>"
        f"<p>Total <strong>{money(invoice['total'], invoice['currency'])}</strong> · "
        f"Amount due {money(invoice['amount_due'], invoice['currency'])}</p>"
        f'<p><a href="{invoice["invoice_pdf"]}">Download PDF</a></p>'
    )
    return page(f"Invoice {invoice['number']}", body)


@route("GET", "/i/(?P<iid>in_[^/]+)/pdf")
def invoice_pdf(req: Request, iid: str):
    invoice = req.store.objects.get(iid)
    if not invoice or invoice["object"] != "invoice":
        return page("Invoice", "<h1>Unknown invoice.</h1>", 404)
    lines = [
        f"Invoice {invoice['number']} - {invoice['account_name']}",
        f"Date: {day(invoice['created'])}   Status: {invoice['status']}",
        f"Billed to: {invoice['customer_email'] or invoice['customer']}",
        "",
    ]
    lines += [
        f"{line['description']}: {money(line['amount'], invoice['currency'])}"
        for line in invoice["lines"]["data"]
    ]
    lines += ["", f"Total: {money(invoice['total'], invoice['currency'])}"]
    return minimal_pdf(lines)


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with text lines (Helvetica), enough for "download invoice"."""

    def esc(text: str) -> str:
        text = text.encode("latin-1", "replace").decode("latin-1")
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    content = "BT /F1 12 Tf 50 790 Td 16 TL " + " ".join(f"({esc(t)}) '" for t in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out
