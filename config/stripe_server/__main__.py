"""`python -m config.stripe_server` — run the local Stripe server in the foreground."""

from __future__ import annotations

import argparse
import contextlib
import logging
from pathlib import Path

from .server import LocalStripe


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m config.stripe_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--state", type=Path, help="JSON file keeping objects across restarts")
    parser.add_argument("--webhook-url", help="where events are POSTed, signed")
    parser.add_argument("--webhook-secret", default="whsec_local")
    parser.add_argument("--connect-webhook-url", help="where connected accounts' events go")
    parser.add_argument("--connect-webhook-secret", default="whsec_local_connect")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    server = LocalStripe(host=args.host, port=args.port, state_file=args.state)
    if args.webhook_url:
        server.add_webhook_endpoint(args.webhook_url, args.webhook_secret)
    if args.connect_webhook_url:
        server.add_webhook_endpoint(
            args.connect_webhook_url, args.connect_webhook_secret, connect=True
        )
    print(f"[stripe] local Stripe server on {server.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
