"""The sandboxed Liquid engine behind every nation's public site.

A theme is a folder of Liquid templates and one stylesheet (themes/<slug>/). A nation may
override any of its files from the panel; overrides live in the nation's schema
(site.TemplateOverride). Templates are only ever read through `ThemeLoader`: a name is looked up
among the theme's own files and the nation's overrides, so `{% include '/etc/passwd' %}` or
`'../../config/settings'` is simply "not found" — Liquid never touches the file system or the
network. Rendering is bounded by python-liquid's own limits (loop iterations, output size,
context depth) plus a wall-clock deadline checked on every write and every loop.

A nation's broken override never breaks its site: `render()` falls back to the theme's own file
and returns the error, which the panel shows to staff.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.utils.translation import gettext
from liquid import BoundTemplate, Environment, Markup, RenderContext
from liquid.exceptions import LiquidError, ResourceLimitError, TemplateNotFoundError
from liquid.loader import BaseLoader, TemplateSource
from liquid.output import LimitedStringIO

ROOT = Path(__file__).resolve().parent

LOOP_LIMIT = 20_000
OUTPUT_LIMIT = 2_000_000  # bytes
RENDER_SECONDS = 0.5
CSS_LIMIT = 200_000


@dataclass(frozen=True)
class Theme:
    slug: str
    name: str
    description: str
    parent: str | None = None
    files: tuple[str, ...] = field(default=())


def _files(slug: str) -> tuple[str, ...]:
    return tuple(sorted(p.name for p in (ROOT / slug).iterdir() if p.suffix in (".liquid", ".css")))


THEMES: dict[str, Theme] = {
    "default": Theme(
        "default",
        "Clarity",
        "Light, airy pages with a bold coloured banner.",
        files=_files("default"),
    ),
    "civic": Theme(
        "civic",
        "Civic",
        "Dark header, strong type, square corners: a campaign poster feel.",
        parent="default",
        files=_files("civic"),
    ),
}


def theme_files(slug: str) -> list[str]:
    """Every file a nation can override for this theme (its own and inherited)."""
    theme = THEMES.get(slug) or THEMES["default"]
    names = set(theme.files)
    if theme.parent:
        names |= set(THEMES[theme.parent].files)
    return sorted(names)


@lru_cache(maxsize=64)
def original_source(slug: str, name: str) -> str | None:
    """The theme's own version of a file (or its parent theme's); None if it has none."""
    theme = THEMES.get(slug)
    while theme is not None:
        if name in theme.files:  # never a path built from `name` unless it is a listed file
            return (ROOT / theme.slug / name).read_text()
        theme = THEMES.get(theme.parent) if theme.parent else None
    return None


class RenderTimeout(ResourceLimitError):
    """The template took longer than RENDER_SECONDS."""


class DeadlineStringIO(LimitedStringIO):
    def __init__(self, limit: int, deadline: float) -> None:
        super().__init__(limit=limit)
        self.deadline = deadline

    def write(self, s: str) -> int:
        if time.monotonic() > self.deadline:
            raise RenderTimeout("render time limit reached", token=None)
        return super().write(s)


class SandboxContext(RenderContext):
    deadline: float = 0.0

    def raise_for_loop_limit(self, length: int = 1) -> None:
        if self.deadline and time.monotonic() > self.deadline:
            raise RenderTimeout("render time limit reached", token=None)
        super().raise_for_loop_limit(length)

    def get_buffer(self, buf=None):
        carry = buf.size if isinstance(buf, LimitedStringIO) else 0
        return DeadlineStringIO(OUTPUT_LIMIT - carry, self.deadline or time.monotonic() + 60)

    def copy(self, *args, **kwargs):
        ctx = super().copy(*args, **kwargs)
        ctx.deadline = self.deadline
        return ctx


class SandboxTemplate(BoundTemplate):
    context_class = SandboxContext

    def render(self, *args: Any, **kwargs: Any) -> str:
        context = self.context_class(self, globals=self.make_globals(dict(*args, **kwargs)))
        context.deadline = time.monotonic() + RENDER_SECONDS
        buf = DeadlineStringIO(OUTPUT_LIMIT, context.deadline)
        self.render_with_context(context, buf)
        return buf.getvalue()


class ThemeLoader(BaseLoader):
    """Names resolve to a nation override, else the theme's file; nothing else exists."""

    def __init__(self, theme: str, overrides: dict[str, str]) -> None:
        self.theme = theme
        self.overrides = overrides

    def get_source(self, env, template_name, *, context=None, **kwargs) -> TemplateSource:
        name = template_name if template_name.endswith(".liquid") else f"{template_name}.liquid"
        if name in self.overrides:
            return TemplateSource(self.overrides[name], name, None)
        source = original_source(self.theme, name)
        if source is None:
            raise TemplateNotFoundError(template_name)
        return TemplateSource(source, name, None)


def _t(value: object) -> str:
    """`{{ "Sign the petition" | t }}`: the theme's words in the visitor's language."""
    return gettext(str(value))


class SandboxEnvironment(Environment):
    template_class = SandboxTemplate
    loop_iteration_limit = LOOP_LIMIT
    output_stream_limit = OUTPUT_LIMIT
    context_depth_limit = 20
    local_namespace_limit = 1_000_000

    def __init__(self, loader: BaseLoader) -> None:
        super().__init__(loader=loader, autoescape=True, strict_filters=True)
        self.add_filter("t", _t)


@lru_cache(maxsize=256)
def _parsed(theme: str, name: str, overrides: tuple[tuple[str, str], ...]) -> BoundTemplate:
    env = SandboxEnvironment(ThemeLoader(theme, dict(overrides)))
    return env.get_template(name)


@dataclass
class Rendered:
    html: str
    error: str = ""  # the nation's override failed; html is the theme's original


def describe(exc: Exception) -> str:
    if isinstance(exc, RenderTimeout):
        return gettext("The template took too long to render (over %(s)s s); check its loops.") % {
            "s": RENDER_SECONDS
        }
    if isinstance(exc, ResourceLimitError):
        return gettext("The template went over a limit: %(error)s.") % {"error": exc}
    if isinstance(exc, TemplateNotFoundError):
        return gettext("A template it includes does not exist: %(error)s.") % {"error": exc}
    return gettext("The template has an error: %(error)s") % {"error": exc}


def render(
    theme: str, name: str, data: dict[str, Any], overrides: dict[str, str] | None = None
) -> Rendered:
    """Render `name` with the nation's overrides; on any Liquid error, the theme's original."""
    theme = theme if theme in THEMES else "default"
    overrides = {k: v for k, v in (overrides or {}).items() if k.endswith(".liquid")}
    if overrides:
        try:
            return Rendered(_parsed(theme, name, tuple(sorted(overrides.items()))).render(**data))
        except LiquidError as exc:
            error = describe(exc)
        except RecursionError:
            error = gettext("The template includes itself without end.")
        original = _parsed(theme, name, ()).render(**data)
        return Rendered(original, error)
    return Rendered(_parsed(theme, name, ()).render(**data))


def check(theme: str, name: str, source: str, data: dict[str, Any]) -> str:
    """'' if `source` renders as `name` with these data, else the error for staff."""
    overrides = {name: source}
    try:
        _parsed(theme, name, tuple(overrides.items())).render(**data)
    except LiquidError as exc:
        return describe(exc)
    except RecursionError:
        return gettext("The template includes itself without end.")
    return ""


safe = Markup
