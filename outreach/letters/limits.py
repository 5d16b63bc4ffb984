"""Bounds on what one template expression may build, so no letter can hang a render.

Jinja's sandbox keeps templates away from Python internals; it does not bound sizes:
``{{ 'x' * 10**9 }}``, ``{{ '%999999999d' % 1 }}``, ``{{ '{:>999999999}'.format(1) }}``
or ``{{ 'x'|center(10**9) }}`` would each build a gigabyte. Here:

* ``*`` may build at most :data:`MAX_SIZE` characters or items, ``**`` small powers;
* a ``%`` or ``format`` pattern may not ask for a width or precision of a million;
* a call or filter gets no number above :data:`MAX_SIZE` and no text or list longer;
* ``range`` yields at most :data:`MAX_STEPS` items in one render, all loops together;
* printing a function or class is refused (it would show Python's description of it).

Each breach is a ``SecurityError``, which the render turns into a one-line
``TemplateError`` naming the template file and line.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import Any

from jinja2 import Template, Undefined
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

#: the most characters, items or the largest number one expression may produce or pass on
MAX_SIZE = 100_000
#: the most items ``range`` may yield in one render (every loop of the letter together)
MAX_STEPS = 100_000
#: the largest exponent of ``**`` (2 ** 64 is plenty for a letter)
MAX_EXPONENT = 64

#: a printf or format() width/precision of a million or more, or one taken from an argument
_WIDE_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\d{6,}|\*|\.\d{6,}|\.\*)")
_WIDE_FORMAT = re.compile(r"\{[^{}]*:[^{}]*(?:\d{6,}|\{)")


def _too_big(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) > MAX_SIZE
    if isinstance(value, (str, list, tuple, dict, set, frozenset)):
        return len(value) > MAX_SIZE
    return False


def check_pattern(pattern: Any) -> None:
    if isinstance(pattern, str) and (_WIDE_PERCENT.search(pattern)
                                     or _WIDE_FORMAT.search(pattern)):
        raise SecurityError("a format width or precision this large is not allowed")


def check_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if _too_big(value):
            raise SecurityError(f"a value this large is not allowed here (limit {MAX_SIZE})")
        check_pattern(value)


def bounded_filter(function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that refuses huge arguments (its Jinja markers kept)."""

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        check_arguments(args, kwargs)
        return function(*args, **kwargs)

    return call


def refuse_objects(value: Any) -> Any:
    """For ``finalize``: a function, method or class is not text to print."""
    if callable(value) and not isinstance(value, (str, Undefined)):
        raise SecurityError(f"cannot print a {type(value).__name__}; call it or leave it out")
    return value


class _CountedTemplate(Template):
    """A template whose every render starts a fresh count of loop steps."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        environment = self.environment
        if isinstance(environment, BoundedSandbox):
            environment.steps = 0
        return super().render(*args, **kwargs)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with the size bounds above (see the module docstring)."""

    intercepted_binops = frozenset({"*", "**", "%"})
    template_class = _CountedTemplate

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.steps = 0
        self.filters = {name: bounded_filter(f) for name, f in self.filters.items()}
        self.globals["range"] = self._range

    def _range(self, *args: int) -> Iterator[int]:
        check_arguments(args, {})
        if len(range(*args)) > MAX_STEPS:
            raise SecurityError(f"a range of more than {MAX_STEPS} items is not allowed")
        return self._counted(range(*args))

    def _counted(self, items: range) -> Iterator[int]:
        for item in items:
            self.steps += 1
            if self.steps > MAX_STEPS:
                raise SecurityError(f"the loops of this letter ran more than {MAX_STEPS} times")
            yield item

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and (
                    len(seq) * times > MAX_SIZE
                ):
                    raise SecurityError(f"a repetition this long is not allowed "
                                        f"(limit {MAX_SIZE})")
        elif operator == "**":
            if isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"an exponent above {MAX_EXPONENT} is not allowed")
        elif operator == "%":
            check_pattern(left)
            if _too_big(right) or (isinstance(right, tuple)
                                   and any(_too_big(v) for v in right)):
                raise SecurityError(f"a value this large is not allowed here (limit {MAX_SIZE})")
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:  # 'text'.format / .format_map: check the text's fields
            check_pattern(getattr(value, "__self__", None))
        return wrapped

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        check_arguments(args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)
