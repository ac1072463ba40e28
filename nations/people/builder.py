"""The segment builder's form: a filter tree as plain form fields, and back.

The panel renders a definition (people.filters) as nested fieldsets whose inputs are named by
the node's path in the tree ("0" is the root group, "0.2" its third child, "0.2.0" ...):

    t:PATH  "c" (condition) or "g" (group)
    m:PATH  group match, "all" or "any"        n:PATH  group negated ("on")
    f:PATH  condition field   pf:PATH  the field it had when rendered   o:PATH  operator
    v:PATH  value (several for tags and lists)

Adding, removing and re-typing conditions is a round trip to the server (htmx), so the builder
needs no JavaScript of its own; the server parses the posted form, applies the change and
renders the tree again with fresh paths.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from .filters import (
    CUSTOM_OPS,
    FIELD_GROUPS,
    FIELDS,
    OP_LABELS,
    FilterError,
    field_spec,
)
from .models import Consent, CustomField, PeopleList, Tag

MULTI_KINDS = ("tags", "lists")
NEW_CONDITION = {"field": "tags", "op": "any", "value": []}


def new_definition() -> dict:
    return {"match": "all", "negate": False, "conditions": [dict(NEW_CONDITION)]}


def parse_form(data, action: str = "") -> dict:
    """The definition a builder form describes, with `action` ("add-condition:PATH",
    "add-group:PATH", "remove:PATH") applied."""
    keys = [k[2:] for k in data if k.startswith("t:")]
    groups: dict[str, dict] = {}  # path -> the group's definition
    items: dict[str, dict] = {}  # path -> the entry in its parent's conditions
    parents: dict[str, dict] = {}

    def children_of(path: str) -> list[str]:
        depth = path.count(".") + 1
        found = [
            k
            for k in keys
            if k.startswith(path + ".") and k.count(".") == depth and k.rsplit(".", 1)[1].isdigit()
        ]
        return sorted(found, key=lambda k: int(k.rsplit(".", 1)[1]))

    def group(path: str) -> dict:
        node = {
            "match": "any" if data.get(f"m:{path}") == "any" else "all",
            "negate": bool(data.get(f"n:{path}")),
            "conditions": [],
        }
        groups[path] = node
        for child in children_of(path):
            if data.get(f"t:{child}") == "g":
                item = {"group": group(child)}
            else:
                item = condition(child)
            items[child] = item
            parents[child] = node
            node["conditions"].append(item)
        return node

    def condition(path: str) -> dict:
        field = data.get(f"f:{path}", "") or NEW_CONDITION["field"]
        op = data.get(f"o:{path}", "")
        values = [v for v in data.getlist(f"v:{path}") if v != ""]
        try:
            kind, ops, _custom = field_spec(field)
        except FilterError:
            kind, ops = "text", ()
        if field != data.get(f"pf:{path}", field) or op not in ops:
            # The field changed: its old operator and value mean nothing for the new one.
            return {
                "field": field,
                "op": ops[0] if ops else "",
                "value": [] if kind in MULTI_KINDS else "",
            }
        if kind in MULTI_KINDS:
            value: Any = values
        else:
            value = values[0] if values else ""
        return {"field": field, "op": op, "value": value}

    root = group("0") if "0" in keys else new_definition()
    verb, _sep, target = action.partition(":")
    if verb in ("add-condition", "add-group") and target in groups:
        node = groups[target]
        if verb == "add-condition":
            node["conditions"].append(dict(NEW_CONDITION, value=[]))
        else:
            node["conditions"].append(
                {
                    "group": {
                        "match": "any",
                        "negate": False,
                        "conditions": [dict(NEW_CONDITION, value=[])],
                    }
                }
            )
    elif verb == "remove" and target in parents:
        parent = parents[target]
        parent["conditions"] = [c for c in parent["conditions"] if c is not items[target]]
    return root


class Choices:
    """What the value widgets offer, loaded once per render (a few small queries)."""

    def __init__(self) -> None:
        self.tags = list(Tag.objects.order_by("name").values_list("name", flat=True)[:500])
        self.lists = list(PeopleList.objects.order_by("name").values_list("pk", "name"))
        self.custom = {f.slug: f for f in CustomField.objects.all()}

    def field_options(self) -> list[tuple[str, list[tuple[str, str]]]]:
        groups = [
            (str(label), [(name, str(text)) for name, text in fields])
            for label, fields in FIELD_GROUPS
        ]
        if self.custom:
            groups.append(
                (
                    _("Custom fields"),
                    [(f"custom:{slug}", f.label) for slug, f in self.custom.items()],
                )
            )
        return groups


def render_tree(definition: dict, choices: Choices) -> dict:
    """The definition as nested dicts with paths and widget details, for the templates."""

    def group(node: dict, path: str, depth: int) -> dict:
        items = []
        for i, item in enumerate(node.get("conditions") or []):
            child = f"{path}.{i}"
            if isinstance(item, dict) and "group" in item:
                items.append(group(item["group"] or {}, child, depth + 1))
            elif isinstance(item, dict):
                items.append(condition(item, child))
        return {
            "type": "group",
            "path": path,
            "depth": depth,
            "match": node.get("match", "all"),
            "negate": bool(node.get("negate")),
            "items": items,
            "can_nest": depth < 3,
        }

    def condition(item: dict, path: str) -> dict:
        field = item.get("field", "")
        op = item.get("op", "")
        value = item.get("value")
        try:
            kind, ops, custom = field_spec(field)
        except FilterError:
            kind, ops, custom = "text", (), None
        values = [
            str(v) for v in (value if isinstance(value, list) else [value]) if v not in (None, "")
        ]
        return {
            "type": "condition",
            "path": path,
            "field": field,
            "op": op,
            "ops": [(o, str(OP_LABELS.get(o, o))) for o in ops],
            "widget": widget_for(field, kind, op, custom, choices),
            "value": values[0] if values else "",
            "values": values,
        }

    return group(definition or new_definition(), "0", 0)


def widget_for(field: str, kind: str, op: str, custom, choices: Choices) -> dict:
    if op in ("empty", "not_empty"):
        return {"type": "none"}
    if op in ("within_days", "more_than_days_ago"):
        return {"type": "number", "min": 0, "suffix": _("days")}
    if kind == "tags":
        return {
            "type": "checkboxes",
            "options": [(t, t) for t in choices.tags],
            "empty": _("No tags yet."),
        }
    if kind == "lists":
        return {
            "type": "checkboxes",
            "options": [(str(pk), name) for pk, name in choices.lists],
            "empty": _("No lists yet."),
        }
    if kind == "bool":
        return {"type": "select", "options": [("true", _("yes")), ("false", _("no"))]}
    if kind == "consent":
        return {"type": "select", "options": list(Consent.choices)}
    if kind in ("date", "custom_date"):
        return {"type": "date"}
    if kind == "money":
        return {"type": "number", "min": 0, "step": "0.01"}
    if kind in ("number", "custom_number"):
        return {"type": "number", "step": "any"}
    if kind == "custom_choice" and custom is not None:
        return {"type": "select", "options": [(str(c), str(c)) for c in custom.choices or []]}
    if field == "language":
        return {"type": "select", "options": [(code, _(name)) for code, name in settings.LANGUAGES]}
    if field == "country":
        return {"type": "text", "placeholder": "FR", "maxlength": 2}
    if field == "postal_code":
        return {"type": "text", "placeholder": "75"}
    return {"type": "text"}


__all__ = ["CUSTOM_OPS", "FIELDS", "Choices", "new_definition", "parse_form", "render_tree"]
