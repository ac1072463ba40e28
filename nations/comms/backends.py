"""Which backend hands a nation's email over: the platform's (COMMS_EMAIL_BACKEND) or the
nation's own (SendingBackend, pk=1): its SMTP relay, or its account at an ESP through
django-anymail with its own API key. Chosen once per pump, so a change applies from the next
batch of workers on; secrets are decrypted only here."""

from __future__ import annotations

from django.conf import settings

from .models import SendingBackend
from .smtp import Relay, SmtpSender

# ESP -> (anymail backend, the name of its API-key option)
ESPS = {
    "mailgun": ("anymail.backends.mailgun.EmailBackend", "api_key"),
    "postmark": ("anymail.backends.postmark.EmailBackend", "server_token"),
    "brevo": ("anymail.backends.brevo.EmailBackend", "api_key"),
    "sendgrid": ("anymail.backends.sendgrid.EmailBackend", "api_key"),
}


def nation_backend() -> SendingBackend | None:
    """The current nation's own backend, or None when it sends through the platform."""
    own = SendingBackend.objects.filter(pk=1).first()
    if own is None or own.kind == SendingBackend.Kind.PLATFORM:
        return None
    return own


def sender_for_nation():
    """An SmtpSender or a DjangoBackendSender for the current nation's schema."""
    from .channels import DjangoBackendSender

    own = nation_backend()
    if own is not None and own.kind == SendingBackend.Kind.SMTP:
        return SmtpSender(
            Relay(
                host=own.smtp_host,
                port=own.smtp_port,
                username=own.smtp_username,
                password=own.smtp_password,
                use_tls=own.smtp_security == "starttls",
                use_ssl=own.smtp_security == "ssl",
            )
        )
    if own is not None and own.kind == SendingBackend.Kind.ESP and own.esp in ESPS:
        path, key_name = ESPS[own.esp]
        options = {key_name: own.esp_api_key}
        if own.esp == "mailgun" and own.esp_sender_domain:
            options["sender_domain"] = own.esp_sender_domain
        return DjangoBackendSender(path, **options)
    backend = settings.COMMS_EMAIL_BACKEND
    return SmtpSender() if backend == "smtp" else DjangoBackendSender(backend)
