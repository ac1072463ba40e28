"""Sending-domain verification: are the SPF, DKIM and DMARC records of a sender's domain
published as dkim.dns_records asks? Looked up with dnspython through the resolver custom
domains use (tenants.dns: NATIONS_DNS_NAMESERVERS / NATIONS_DNS_PORT), so tests ask a real
local DNS server.

Each record gets a status: "ok", "missing" (no such record), "wrong" (a record is there but does
not say what it should: the SPF lacks our include, the DKIM key differs) or "error" (the DNS did
not answer). A domain is verified when SPF and DKIM are ok; DMARC is advice.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from tenants.dns import LookupFailed, get_resolver

REQUIRED = ("SPF", "DKIM")


def _compact(value: str) -> str:
    return "".join(value.split()).lower()


def _spf(values: list[str]) -> tuple[str, str]:
    spf = [v for v in values if v.lower().startswith("v=spf1")]
    if not spf:
        return "missing", ""
    include = settings.COMMS_SPF_INCLUDE.lower()
    if any(include in v.lower().split() for v in spf):
        return "ok", spf[0]
    return "wrong", spf[0]


def _dkim(values: list[str], public_key: str) -> tuple[str, str]:
    keys = [v for v in values if "p=" in v]
    if not keys:
        return "missing", ""
    wanted = "p=" + _compact(public_key)
    for value in keys:
        parts = [_compact(p) for p in value.split(";")]
        if wanted in parts:
            return "ok", value
    return "wrong", keys[0]


def _dmarc(values: list[str]) -> tuple[str, str]:
    found = [v for v in values if v.lower().replace(" ", "").startswith("v=dmarc1")]
    return ("ok", found[0]) if found else ("missing", "")


def check(broadcaster) -> dict:
    """{"checked_at": iso, "verified": bool, "records": [{"purpose", "name", "status",
    "found"}]} for the broadcaster's domain; never raises for DNS trouble."""
    resolver = get_resolver()
    domain = broadcaster.domain
    lookups = [
        ("SPF", domain, _spf),
        (
            "DKIM",
            f"{broadcaster.dkim_selector}._domainkey.{domain}",
            lambda values: _dkim(values, broadcaster.dkim_public_key),
        ),
        ("DMARC", f"_dmarc.{domain}", _dmarc),
    ]
    records = []
    for purpose, name, judge in lookups:
        try:
            status, found = judge(resolver.txt_records(name))
        except LookupFailed as error:
            status, found = "error", str(error)[:200]
        records.append({"purpose": purpose, "name": name, "status": status, "found": found[:300]})
    verified = all(r["status"] == "ok" for r in records if r["purpose"] in REQUIRED)
    return {"checked_at": timezone.now().isoformat(), "verified": verified, "records": records}
