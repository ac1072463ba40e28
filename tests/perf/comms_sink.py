"""`python -m tests.perf.comms_sink PORT`: an SMTP server that accepts every message and throws
it away (the far end of the email benchmarks, in its own process)."""

from __future__ import annotations

import sys
import time

from aiosmtpd.controller import Controller


class Discard:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        return "250 OK"


if __name__ == "__main__":
    controller = Controller(Discard(), hostname="127.0.0.1", port=int(sys.argv[1]))
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()
