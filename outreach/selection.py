"""``--where FIELD=VALUE``: the one filter grammar of every command that selects contacts.

Grammar
    Each ``--where`` item is ``FIELD=VALUE`` (split at the first ``=``; the value
    may contain ``=``). Items on different fields are combined with AND; items on
    the same field with OR::

        --where country=DE --where country=FR --where kind=mep   # (DE or FR) and mep

    Field names are case-insensitive and ``-`` may stand for ``_``
    (``political-group=EPP``). Values are read the way the importer reads a
    cell: ``country=Germany`` means ``DE``, ``kind=MEP`` means ``mep``,
    ``committee=droi`` means ``DROI``. Text fields match the whole value
    without regard to case; ``search`` matches a part of the name, e-mail or
    organisation.

Built-in fields
    ``id email name first_name last_name honorific role kind organisation
    country language political_group national_party notes ep_id``
    (one column each), ``committee`` and ``tag`` (one element of the list),
    ``search`` (substring) and ``suppressed`` (``yes``/``no``: on the
    do-not-contact list).

A :class:`Selection` is a frozen value. ``to_json()`` gives
``{"field": ["value", ...]}`` (fields sorted), which a campaign saves as its
audience; ``Selection.from_json()`` reads it back, checking it again.

Extending (later issues: ``status``, ``stance.ASK``)
    :func:`register_field` adds a field. Its handler is an async function that
    receives a :class:`FieldRequest` (the full field name, the normalised
    values, and the campaign the command runs for, if any) and returns either a
    Tortoise ``Q`` on ``Contact`` or a set of contact ids. Register a prefix
    (``register_field("stance.", handler, prefix=True)``) to accept a family
    of names (``stance.caucus``, ``stance.ccf``); the handler sees the full
    name. A handler that needs a campaign and gets none raises
    :class:`~outreach.errors.SelectionError`. Example::

        async def by_status(request: FieldRequest) -> set[int]:
            if request.campaign is None:
                raise SelectionError("needs --campaign", place="status")
            rows = await Delivery.filter(
                campaign=request.campaign, state__in=request.values
            ).values_list("contact_id", flat=True)
            return set(rows)

        register_field("status", by_status, normalise=str.lower, help="letter state")
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from outreach.contacts import fields as cf
from outreach.errors import SelectionError
from outreach.models import Campaign, Contact, Suppression


@dataclass(frozen=True)
class FieldRequest:
    """What a field handler is asked: the field (full name), its values, the campaign."""

    field: str
    values: tuple[str, ...]
    campaign: Campaign | None = None


FieldHandler = Callable[[FieldRequest], Awaitable["Q | set[int] | frozenset[int]"]]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    handler: FieldHandler
    normalise: Callable[[str], str]
    prefix: bool = False
    help: str = ""


_FIELDS: dict[str, FieldSpec] = {}


def register_field(
    name: str,
    handler: FieldHandler,
    *,
    normalise: Callable[[str], str] | None = None,
    prefix: bool = False,
    help: str = "",
) -> None:
    """Make ``name`` (or every ``name…`` when ``prefix``) usable in ``--where``.

    ``normalise`` turns one value as typed into the value the handler gets; it
    raises ValueError (its message is shown) for a value that cannot be right.
    Registering a name again replaces it.
    """
    key = _fold(name)
    _FIELDS[key] = FieldSpec(
        name=key,
        handler=handler,
        normalise=normalise or (lambda value: value.strip()),
        prefix=prefix,
        help=help,
    )


def known_fields() -> list[str]:
    """The names accepted by ``--where`` (prefix fields shown as ``stance.ASK``-style ``name…``)."""
    return sorted(spec.name + ("…" if spec.prefix else "") for spec in _FIELDS.values())


def _fold(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def _spec(field: str) -> FieldSpec | None:
    spec = _FIELDS.get(field)
    if spec is not None and not spec.prefix:
        return spec
    matches = [s for s in _FIELDS.values() if s.prefix and field.startswith(s.name)]
    if matches:
        return max(matches, key=lambda s: len(s.name))
    return None


@dataclass(frozen=True)
class Selection:
    """A parsed filter: ``((field, (value, ...)), ...)``, fields sorted, values as given."""

    where: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.where)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(field for field, _ in self.where)

    def values(self, field: str) -> tuple[str, ...]:
        for name, values in self.where:
            if name == field:
                return values
        return ()

    def to_json(self) -> dict[str, list[str]]:
        return {field: list(values) for field, values in self.where}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> Selection:
        """Read what :meth:`to_json` wrote (a mapping or its JSON text), checking it again."""
        if isinstance(data, str):
            try:
                data = json.loads(data or "{}")
            except json.JSONDecodeError as exc:
                raise SelectionError(f"saved selection is not JSON: {exc}") from None
        if not isinstance(data, Mapping):
            raise SelectionError("saved selection is not an object")
        items: list[str] = []
        for field, values in data.items():
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise SelectionError(f"saved selection: {field!r} is not a list of strings")
            items.extend(f"{field}={value}" for value in values)
        return parse_where(items)

    def to_args(self) -> list[str]:
        """The ``FIELD=VALUE`` items that parse back to this selection."""
        return [f"{field}={value}" for field, values in self.where for value in values]

    def describe(self) -> str:
        """``country=DE|FR and kind=mep``; ``everyone`` when empty."""
        if not self.where:
            return "everyone"
        return " and ".join(f"{field}={'|'.join(values)}" for field, values in self.where)


def parse_where(items: Iterable[str]) -> Selection:
    """Parse ``FIELD=VALUE`` items (AND across fields, OR within one field)."""
    grouped: dict[str, list[str]] = {}
    for item in items:
        field_text, sep, raw = item.partition("=")
        field = _fold(field_text)
        if not sep or not field:
            raise SelectionError(f"expected FIELD=VALUE, got {item!r}", place="--where")
        spec = _spec(field)
        if spec is None or (spec.prefix and field == spec.name):
            raise SelectionError(
                f"unknown field {field_text.strip()!r}; known fields: {', '.join(known_fields())}",
                place="--where",
            )
        if not raw.strip():
            raise SelectionError(f"{field}= needs a value", place="--where")
        try:
            value = spec.normalise(raw)
        except ValueError as exc:
            raise SelectionError(str(exc), place=f"--where {field}") from None
        values = grouped.setdefault(field, [])
        if value not in values:
            values.append(value)
    return Selection(tuple((field, tuple(grouped[field])) for field in sorted(grouped)))


async def contact_query(
    selection: Selection, *, campaign: Campaign | None = None
) -> QuerySet[Contact]:
    """The contacts a selection names, as a queryset (ordered by id) to refine further."""
    query = Contact.all()
    for field, values in selection.where:
        spec = _spec(field)
        if spec is None:  # a field unregistered since parsing
            raise SelectionError(f"unknown field {field!r}", place="--where")
        result = await spec.handler(FieldRequest(field=field, values=values, campaign=campaign))
        if isinstance(result, Q):
            query = query.filter(result)
        else:
            query = query.filter(id__in=sorted(result))
    return query.order_by("id")


async def select_contacts(
    selection: Selection, *, campaign: Campaign | None = None
) -> list[Contact]:
    """The contacts a selection names, ordered by id."""
    return list(await (await contact_query(selection, campaign=campaign)))


# --- the built-in fields -----------------------------------------------------------------


def _any(queries: Iterable[Q]) -> Q:
    return Q(*queries, join_type=Q.OR)


def _exact(column: str) -> FieldHandler:
    async def handler(request: FieldRequest) -> Q:
        condition: dict[str, Any] = {f"{column}__in": list(request.values)}
        return Q(**condition)

    return handler


def _iexact(column: str) -> FieldHandler:
    async def handler(request: FieldRequest) -> Q:
        return _any(Q(**{f"{column}__iexact": v}) for v in request.values)

    return handler


def _element(column: str) -> FieldHandler:
    """One element of a JSON list column: ``committees LIKE '%"DROI"%'``."""

    async def handler(request: FieldRequest) -> Q:
        return _any(
            Q(**{f"{column}__icontains": json.dumps(v, ensure_ascii=False)}) for v in request.values
        )

    return handler


async def _search(request: FieldRequest) -> Q:
    return _any(
        Q(name__icontains=v) | Q(email__icontains=v) | Q(organisation__icontains=v)
        for v in request.values
    )


async def _suppressed(request: FieldRequest) -> Q:
    listed = Q(email__in=Subquery(Suppression.filter(email__isnull=False).values("email")))
    wanted = set(request.values)
    if wanted == {"yes", "no"}:
        return Q()
    return listed if wanted == {"yes"} else ~listed


def _int(value: str) -> str:
    cleaned = value.strip().lstrip("#")
    if not cleaned.isdigit():
        raise ValueError(f"id {value.strip()!r} is not a number")
    return str(int(cleaned))


async def _by_id(request: FieldRequest) -> Q:
    return Q(id__in=[int(v) for v in request.values])


def _yes_no(value: str) -> str:
    folded = value.strip().lower()
    if folded in {"yes", "true", "1", "y"}:
        return "yes"
    if folded in {"no", "false", "0", "n"}:
        return "no"
    raise ValueError(f"expected yes or no, not {value.strip()!r}")


def _lower(value: str) -> str:
    return value.strip().lower()


def _required(normalise: Callable[[str], str]) -> Callable[[str], str]:
    def wrapped(value: str) -> str:
        result = normalise(value)
        if not result:
            raise ValueError(f"{value.strip()!r} is not a usable value")
        return result

    return wrapped


def _register_builtins() -> None:
    register_field("id", _by_id, normalise=_int, help="the contact's number")
    register_field("email", _exact("email"), normalise=_lower, help="the whole address")
    for column in (
        "name",
        "first_name",
        "last_name",
        "honorific",
        "role",
        "organisation",
        "political_group",
        "national_party",
        "notes",
    ):
        register_field(
            column, _iexact(column), normalise=cf.scalar(column), help="the whole value, any case"
        )
    simple: list[tuple[str, str, Callable[[str], str], str]] = [
        ("kind", "kind", _required(cf.kind), ", ".join(cf.KINDS)),
        ("country", "country", _required(cf.country), "ISO code or English name"),
        ("language", "language", _required(cf.language), "ISO 639-1 code"),
        ("ep_id", "ep_id", _required(cf.ep_id), "European Parliament id"),
    ]
    for name, column, normalise, text in simple:
        register_field(name, _exact(column), normalise=normalise, help=text)
    register_field(
        "committee", _element("committees"), normalise=cf.committee, help="one committee"
    )
    register_field("tag", _element("tags"), normalise=cf.tag, help="one of the tags")
    register_field("search", _search, help="part of the name, e-mail or organisation")
    register_field("suppressed", _suppressed, normalise=_yes_no, help="on the do-not-contact list")


_register_builtins()

# fields of later features (status, stance.ASK, campaign) register themselves on import
import outreach.replies.status  # noqa: E402,F401
from outreach.report import followups as _followups  # noqa: E402,F401  (follow-up-due)
