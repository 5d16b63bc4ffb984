"""Finding letters, choosing their language, and rendering one for one contact.

A letter is a folder with ``letter.toml`` and one sub-folder per language
(``subject.txt``, ``body.md``); ``_partials/<lang>/`` holds the asks and the
signature. The local ``templates/`` folder beside ``outreach.toml`` comes
first: a letter there replaces the shipped one of the same name, and a partial
there replaces the shipped partial. Compiled templates are cached per
(letter, language), so rendering costs only the Jinja run, the Markdown pass
and the MIME assembly.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Template, TemplateSyntaxError
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from outreach import refdata
from outreach.config import Settings
from outreach.errors import TemplateError
from outreach.letters import markdown, mime
from outreach.letters.context import build_context
from outreach.letters.environment import fields_used, make_environment, raise_render_error
from outreach.resources import shipped_templates

FALLBACK = "en"
ASKS = ("caucus", "risk-assessment", "funding", "appeals-body", "compensation-fund",
        "transparency")
PARTIALS = "_partials"
#: contact fields the engine itself reads (greeting, language, country)
ENGINE_FIELDS = ("honorific", "first_name", "last_name", "name", "role", "kind", "language",
                 "country", "email")


@dataclass(frozen=True)
class LetterSpec:
    """What ``letter.toml`` says about a letter."""

    name: str
    path: Path
    description: str = ""
    kinds: tuple[str, ...] = ()
    asks: tuple[str, ...] = ()
    follow_up: bool = False
    follows: str = ""
    local: bool = False


@dataclass(frozen=True)
class Rendered:
    subject: str
    language: str
    wanted_language: str
    fell_back: bool
    text: str
    html: str
    message: bytes


@dataclass
class _Compiled:
    env: ImmutableSandboxedEnvironment
    subject: Template
    body: Template


def _read_spec(name: str, path: Path, *, local: bool) -> LetterSpec:
    meta = path / "letter.toml"
    try:
        data = tomllib.loads(meta.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"cannot read letter.toml: {exc}", place=str(meta)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"not valid TOML: {exc}", place=str(meta)) from exc
    asks = tuple(str(a) for a in data.get("asks", ()))
    for ask in asks:
        if ask not in ASKS:
            raise TemplateError(f"unknown ask {ask!r} (known: {', '.join(ASKS)})",
                                place=str(meta))
    return LetterSpec(
        name=name, path=path, description=str(data.get("description", "")),
        kinds=tuple(str(k) for k in data.get("kinds", ())), asks=asks,
        follow_up=bool(data.get("follow_up", False)), follows=str(data.get("follows", "")),
        local=local,
    )


class Library:
    """The letters available to an installation: local ones first, then the shipped ones."""

    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots: list[Path] = []
        for root in roots:
            # the last root holds the shipped letters; a repeat of it (a checkout's own
            # templates/ beside its outreach.toml) is not a local copy
            path = Path(root).resolve()
            if path.is_dir():
                if path in self.roots:
                    self.roots.remove(path)
                self.roots.append(path)
        self._letters: dict[str, Letter] = {}

    @classmethod
    def for_settings(cls, settings: Settings) -> Library:
        return cls([settings.base_dir / "templates", shipped_templates()])

    def names(self) -> list[str]:
        found: set[str] = set()
        for root in self.roots:
            for child in root.iterdir():
                if child.is_dir() and not child.name.startswith(("_", ".")) and (
                    child / "letter.toml"
                ).is_file():
                    found.add(child.name)
        return sorted(found)

    def get(self, name: str) -> Letter:
        if name in self._letters:
            return self._letters[name]
        for index, root in enumerate(self.roots):
            path = root / name
            if not name.startswith(("_", ".")) and "/" not in name and (
                path / "letter.toml"
            ).is_file():
                spec = _read_spec(name, path, local=index < len(self.roots) - 1)
                letter = Letter(spec, self)
                self._letters[name] = letter
                return letter
        known = ", ".join(self.names()) or "none"
        raise TemplateError(f"no letter named {name!r} (letters: {known})", place=name)

    def letters(self) -> list[Letter]:
        return [self.get(n) for n in self.names()]

    def partial_dirs(self, language: str) -> list[Path]:
        return [root / PARTIALS / language for root in self.roots]


class Letter:
    """One letter in all its languages."""

    def __init__(self, spec: LetterSpec, library: Library) -> None:
        self.spec = spec
        self.name = spec.name
        self.library = library
        self._compiled: dict[str, _Compiled] = {}
        self._languages: list[str] | None = None

    @property
    def languages(self) -> list[str]:
        """The languages this letter has (a folder with subject.txt and body.md each)."""
        if self._languages is None:
            self._languages = sorted(
                p.name for p in self.spec.path.iterdir()
                if p.is_dir() and (p / "body.md").is_file() and (p / "subject.txt").is_file()
            )
        return self._languages

    def choose_language(self, contact: Any, lang: str | None = None) -> tuple[str, str]:
        """(wanted, used): the wanted language, and the one rendered (English when missing)."""
        wanted = (lang or str(getattr(contact, "language", "") or "")).strip().lower()
        if not wanted:
            wanted = refdata.default_language(str(getattr(contact, "country", "") or ""))
        available = self.languages
        if wanted in available:
            return wanted, wanted
        if FALLBACK in available:
            return wanted, FALLBACK
        raise TemplateError(f"letter has no {wanted!r} and no English version",
                            place=str(self.spec.path))

    def _roots_for_errors(self) -> list[Path]:
        return [r for r in self.library.roots]

    def compiled(self, language: str) -> _Compiled:
        found = self._compiled.get(language)
        if found is not None:
            return found
        search = [self.spec.path / language, *self.library.partial_dirs(language)]
        env = make_environment(search, markdown=True)
        plain = make_environment(search, markdown=False)
        try:
            body = env.get_template("body.md")
            subject = plain.get_template("subject.txt")
        except TemplateSyntaxError as exc:
            raise_render_error(exc, roots=self._roots_for_errors(),
                               fallback_place=f"{self.name}/{language}", contact="-")
        except JinjaTemplateError as exc:
            raise TemplateError(str(exc), place=f"{self.name}/{language}") from exc
        result = _Compiled(env=env, subject=subject, body=body)
        self._compiled[language] = result
        return result

    def fields(self) -> list[str]:
        """The contact fields this letter uses (templates + the engine's own)."""
        used: set[str] = set(ENGINE_FIELDS)
        for language in self.languages:
            search = [self.spec.path / language, *self.library.partial_dirs(language)]
            env = make_environment(search, markdown=True)
            used |= fields_used(env, ["body.md", "subject.txt"])
        return sorted(used)

    def render(
        self,
        contact: Any,
        *,
        asks: Sequence[str] | None = None,
        settings: Settings,
        message_id: str,
        reply_to: str | None = None,
        lang: str | None = None,
        in_reply_to: str | None = None,
        references: Sequence[str] = (),
        previous: dict[str, Any] | None = None,
        campaign_name: str = "",
        today: date | None = None,
    ) -> Rendered:
        """The complete message for one contact (no Date: see :func:`mime.with_date`)."""
        chosen = list(self.spec.asks if asks is None else asks)
        for ask in chosen:
            if ask not in ASKS:
                raise TemplateError(f"unknown ask {ask!r} (known: {', '.join(ASKS)})",
                                    place=self.name)
        if self.spec.follow_up and previous is None:
            raise TemplateError("a follow-up letter needs the previous letter's date and "
                                "subject", place=self.name)
        wanted, language = self.choose_language(contact, lang)
        label = _label(contact)
        compiled = self.compiled(language)
        context = build_context(
            contact=contact, label=label, language=language, asks=chosen, settings=settings,
            campaign_name=campaign_name, previous=previous,
            today=today or datetime.now(UTC).date(),
        )
        try:
            subject = mime.clean(compiled.subject.render(context))
            source = compiled.body.render(context)
        except Exception as exc:  # every render failure names its template line
            raise_render_error(exc, roots=self._roots_for_errors(),
                               fallback_place=f"{self.name}/{language}/body.md", contact=label)
        html_fragment, text = markdown.render(source)
        html = _html_document(html_fragment, subject, language)
        sender = settings.sender
        message = mime.build(
            from_name=sender.name, from_address=sender.address,
            to_name=str(getattr(contact, "name", "") or ""),
            to_address=str(getattr(contact, "email", "") or ""),
            subject=subject, message_id=message_id, text=text, html=html, language=language,
            reply_to=reply_to if reply_to is not None else (sender.reply_to or None),
            in_reply_to=in_reply_to, references=references,
            list_unsubscribe=sender.list_unsubscribe,
        )
        return Rendered(subject=subject, language=language, wanted_language=wanted,
                        fell_back=language != wanted, text=text, html=html, message=message)


def _label(contact: Any) -> str:
    label = getattr(contact, "label", None)
    if callable(label):
        return str(label())
    return str(getattr(contact, "email", "") or getattr(contact, "name", "") or "?")


def _html_document(fragment: str, subject: str, language: str) -> str:
    title = (subject.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    return (
        f'<!DOCTYPE html>\n<html lang="{language}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n</head>\n<body>\n{fragment}</body>\n</html>\n"
    )

