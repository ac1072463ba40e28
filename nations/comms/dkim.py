"""Sending-domain records: SPF and DKIM, shown to staff, and DKIM signing when self-sending.

Keys are RSA-2048, made with the system's `openssl` (no Python crypto dependency); signing uses
dkimpy when it is installed (`dkimpy`, pure Python for RSA) and is skipped otherwise."""

from __future__ import annotations

import base64
import shutil
import subprocess

from django.conf import settings


def generate_key() -> tuple[str, str]:
    """(private key PEM, public key base64 for the DNS record); ('', '') without openssl."""
    openssl = shutil.which("openssl")
    if not openssl:
        return "", ""
    private = subprocess.run(  # noqa: S603 - fixed arguments
        [openssl, "genrsa", "2048"], capture_output=True, check=True
    ).stdout
    public = subprocess.run(  # noqa: S603
        [openssl, "rsa", "-pubout", "-outform", "DER"],
        input=private,
        capture_output=True,
        check=True,
    ).stdout
    return private.decode(), base64.b64encode(public).decode()


def dns_records(broadcaster) -> list[dict[str, str]]:
    """What the nation publishes at its DNS host so receivers trust mail from this address."""
    domain = broadcaster.domain
    records = [
        {
            "type": "TXT",
            "name": domain,
            "value": f"v=spf1 {settings.COMMS_SPF_INCLUDE} ~all",
            "purpose": "SPF",
        }
    ]
    if broadcaster.dkim_public_key:
        records.append(
            {
                "type": "TXT",
                "name": f"{broadcaster.dkim_selector}._domainkey.{domain}",
                "value": f"v=DKIM1; k=rsa; p={broadcaster.dkim_public_key}",
                "purpose": "DKIM",
            }
        )
    records.append(
        {"type": "TXT", "name": f"_dmarc.{domain}", "value": "v=DMARC1; p=none", "purpose": "DMARC"}
    )
    return records


def sign(message: bytes, *, selector: str, domain: str, private_key: str) -> bytes:
    """The message with a DKIM-Signature header, or unchanged if dkimpy is not installed."""
    try:
        import dkim
    except ImportError:
        return message
    signature = dkim.sign(
        message,
        selector.encode(),
        domain.encode(),
        private_key.encode(),
        include_headers=[b"from", b"to", b"subject", b"date", b"message-id", b"list-unsubscribe"],
    )
    return signature + message
