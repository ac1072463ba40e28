"""`python -m config.twilio_server` — run the local Twilio server in the foreground."""

from __future__ import annotations

import argparse
import contextlib

from .server import LocalTwilio


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m config.twilio_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12112)
    parser.add_argument("--account", default="", help="AC… sid of the platform's account")
    parser.add_argument("--token", default="", help="its auth token")
    parser.add_argument("--number", action="append", default=[], help="a number it owns")
    parser.add_argument(
        "--auto", action="store_true", help="deliver messages and answer calls on their own"
    )
    args = parser.parse_args()
    server = LocalTwilio(host=args.host, port=args.port, auto=args.auto)
    if args.account:
        server.store.accounts[args.account] = args.token
        for number in args.number:
            server.add_number(args.account, number)
    print(f"[twilio] local Twilio server on {server.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
