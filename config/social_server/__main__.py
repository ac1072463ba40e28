"""`python -m config.social_server` — the local X and Mastodon server in the foreground, with
one X consumer and one user of each network (the credentials `make run` prints)."""

from __future__ import annotations

import argparse
import contextlib

from .server import LocalSocial


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m config.social_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12112)
    parser.add_argument("--x-consumer", default="local-consumer-key:local-consumer-secret")
    parser.add_argument("--x-user", action="append", default=[], help="token:secret:username")
    parser.add_argument("--mastodon-user", action="append", default=[], help="token:username")
    args = parser.parse_args()
    server = LocalSocial(host=args.host, port=args.port)
    key, secret = args.x_consumer.split(":", 1)
    server.add_x_consumer(key, secret)
    for spec in args.x_user or ["local-x-token:local-x-secret:demo_nation"]:
        token, secret, username = spec.split(":", 2)
        server.add_x_user(token, secret, username)
    for spec in args.mastodon_user or ["local-mastodon-token:demo"]:
        token, username = spec.split(":", 1)
        server.add_mastodon_user(token, username)
    print(f"[social] local X and Mastodon server on {server.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
