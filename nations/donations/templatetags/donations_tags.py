from django import template

from ..actions import money as _money

register = template.Library()


@register.simple_tag
def money(amount, currency) -> str:
    return _money(int(amount or 0), currency or "USD")
