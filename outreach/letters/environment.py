"""The sandboxed Jinja2 environment of one letter in one language.

``{{ value }}`` output is Markdown-escaped (``finalize``), so contact data is
inert text; contact data is never template source. An empty contact field is
a :class:`MissingField`: false in a test, an error when printed. Render errors
become :class:`~outreach.errors.TemplateError` naming the template file, its
line and the contact.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NoReturn

from jinja2 import FileSystemLoader, StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.exceptions import TemplateNotFound, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from outreach.errors import TemplateError
from outreach.letters.limits import BoundedSandbox, refuse_objects
from outreach.letters.markdown import escape


class MissingField(StrictUndefined):
    """An empty contact field: ``{% if contact.x %}`` is false; ``{{ contact.x }}`` fails."""

    def __bool__(self) -> bool:  # type: ignore[override]
        return False


def _finalize_markdown(value: Any) -> Any:
    refuse_objects(value)
    if isinstance(value, str):
        return escape(value)
    if value is None:
        return ""
    return escape(str(value))


def _finalize_plain(value: Any) -> Any:
    refuse_objects(value)
    return "" if value is None else value


def make_environment(search: Iterable[Path], *, markdown: bool) -> ImmutableSandboxedEnvironment:
    """An environment loading from ``search`` (first match wins), sizes bounded
    (:mod:`outreach.letters.limits`)."""
    finalize: Callable[[Any], Any] = _finalize_markdown if markdown else _finalize_plain
    return BoundedSandbox(
        loader=FileSystemLoader([str(p) for p in search], encoding="utf-8"),
        undefined=StrictUndefined,
        autoescape=False,
        finalize=finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
        cache_size=-1,
    )


def template_place(exc: BaseException, roots: Iterable[Path]) -> str:
    """``mep/en/body.md:12`` — the innermost template frame of a render error."""
    if isinstance(exc, TemplateSyntaxError) and exc.filename:
        return f"{_short(exc.filename, roots)}:{exc.lineno}"
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        name = frame.filename
        if name.endswith((".md", ".txt")):
            return f"{_short(name, roots)}:{frame.lineno}"
    return ""


def _short(path: str, roots: Iterable[Path]) -> str:
    p = Path(path)
    for root in roots:
        try:
            return p.relative_to(root).as_posix()
        except ValueError:
            continue
    return p.as_posix()


def raise_render_error(
    exc: BaseException, *, roots: Iterable[Path], fallback_place: str, contact: str
) -> NoReturn:
    """Turn a Jinja error into a TemplateError with the template line and the contact."""
    roots = list(roots)
    place = template_place(exc, roots) or fallback_place
    if isinstance(exc, UndefinedError):
        message = str(exc.message or exc)
        if "has no attribute" in message or "is undefined" in message:
            message = message.replace("'MissingField object'", "contact")
        what = f"{message} (contact {contact})"
    elif isinstance(exc, TemplateNotFound):
        what = f"template {exc.name!r} not found (contact {contact})"
    elif isinstance(exc, JinjaTemplateError):
        what = f"{exc.message or exc} (contact {contact})"
    else:
        what = f"{type(exc).__name__}: {exc} (contact {contact})"
    raise TemplateError(what, place=place) from exc


def fields_used(env: ImmutableSandboxedEnvironment, names: Iterable[str]) -> set[str]:
    """The ``contact.X`` attributes read by these templates and what they include."""
    seen: set[str] = set()
    found: set[str] = set()
    todo = list(names)
    assert env.loader is not None
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            source, _, _ = env.loader.get_source(env, name)
        except TemplateNotFound:
            continue
        try:
            tree = env.parse(source, name=name)
        except TemplateSyntaxError:
            continue
        for node in tree.find_all(nodes.Getattr):
            if isinstance(node.node, nodes.Name) and node.node.name == "contact":
                found.add(node.attr)
        for inc in tree.find_all(nodes.Include):
            todo.extend(_include_names(inc.template, env, name))
    return found


def _include_names(
    node: nodes.Expr, env: ImmutableSandboxedEnvironment, current: str
) -> list[str]:
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        return [node.value]
    # "asks/" ~ ask ~ ".md": every file of that folder
    if isinstance(node, nodes.Concat) and node.nodes and isinstance(node.nodes[0], nodes.Const):
        head = str(node.nodes[0].value)
        assert env.loader is not None
        return [n for n in env.loader.list_templates() if n.startswith(head)]
    return []

