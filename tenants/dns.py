"""DNS look-ups for custom-domain verification, behind a small interface.

`NATIONS_DNS_RESOLVER` names the class; the default asks the system's resolvers (or
`NATIONS_DNS_NAMESERVERS` on `NATIONS_DNS_PORT`) through dnspython. Tests run a real DNS server
on 127.0.0.1 and point the same class at it."""

from __future__ import annotations

from typing import Protocol

import dns.exception
import dns.resolver
from django.conf import settings
from django.utils.module_loading import import_string


class LookupFailed(Exception):
    """The DNS question could not be answered (timeout, SERVFAIL...), as opposed to 'no record'."""


class Resolver(Protocol):
    def txt_records(self, name: str) -> list[str]: ...


class SystemResolver:
    def __init__(
        self, nameservers: list[str] | None = None, port: int | None = None, timeout: float = 3.0
    ) -> None:
        nameservers = nameservers if nameservers is not None else settings.NATIONS_DNS_NAMESERVERS
        self._resolver = dns.resolver.Resolver(configure=not nameservers)
        if nameservers:
            self._resolver.nameservers = list(nameservers)
        self._resolver.port = port or settings.NATIONS_DNS_PORT
        self._resolver.lifetime = timeout
        self._resolver.cache = None

    def txt_records(self, name: str) -> list[str]:
        try:
            answer = self._resolver.resolve(name, "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
            raise LookupFailed(str(exc)) from exc
        return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


def get_resolver() -> Resolver:
    return import_string(settings.NATIONS_DNS_RESOLVER)()
