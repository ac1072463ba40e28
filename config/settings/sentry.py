"""Error reporting: on when SENTRY_DSN is set, without personal data unless asked for."""

from __future__ import annotations


def init_sentry(dsn: str, *, environment: str, send_pii: bool = False) -> bool:
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=send_pii,
        traces_sample_rate=0.0,
    )
    return True
