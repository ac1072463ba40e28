from __future__ import annotations

from .models import Person


def person_create(
    *, first_name: str = "", last_name: str = "", email: str = "", phone: str = ""
) -> Person:
    """Add a person to the current nation's supporter base."""
    return Person.objects.create(
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=email.strip().lower(),
        phone=phone.strip(),
    )
