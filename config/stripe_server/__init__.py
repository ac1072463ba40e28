"""A local Stripe server: Stripe's HTTP API for the endpoints Nations uses, for tests and for
`make run` without Stripe keys. The app reaches it only through the official SDK
(`stripe.StripeClient(key, base_addresses={"api": url})`), so with real keys the same code
talks to Stripe.

    python -m config.stripe_server --port 12111 --webhook-url URL --webhook-secret whsec_…

Layout, for whoever extends it (Connect, payment intents and refunds come with donations):
  store.py   objects (Stripe-shaped dicts), the clock, events, signed webhook delivery
  server.py  HTTP: routing (`@route`), form decoding, auth, Idempotency-Key, Stripe-Account,
             expand[], list envelopes, errors in Stripe's shape
  billing.py customers, payment methods, products, prices, coupons, checkout sessions,
             subscriptions, invoices, billing portal sessions, events, /_local/clock
  pages.py   the hosted pages: Checkout's pay page, the billing portal, invoices (HTML and PDF)

Every object carries the connected account it was created under (the Stripe-Account header),
and lookups only find objects of the same account.
"""

from .server import LocalStripe, route
from .store import API_VERSION, StripeError, sign

__all__ = ["API_VERSION", "LocalStripe", "StripeError", "route", "sign"]
