"""The letters engine: rendering, safety of contact data, errors, the MIME message."""

from __future__ import annotations

import dataclasses
import itertools
import re
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from outreach.config import Sender, Settings
from outreach.errors import TemplateError
from outreach.letters import ASKS, Library, with_date
from outreach.letters import markdown as md
from outreach.resources import shipped_templates
from tests.helpers_letters import SAMPLES, sample

SETTINGS = Settings()
PREVIOUS = {"sent_on": date(2026, 11, 2), "subject": "Interpol reform"}
MID = "<outreach.c1.t2.abcdef012345@example.org>"


def shipped() -> Library:
    return Library([shipped_templates()])


def parse(message: bytes) -> EmailMessage:
    parsed = message_from_bytes(message, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(message: bytes) -> tuple[str, str]:
    parsed = parse(message)
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None
    assert html is not None
    return (str(text.get_content()).replace("\r\n", "\n"),
            str(html.get_content()).replace("\r\n", "\n"))


def render(letter: str = "mep", **kwargs: object):
    contact = kwargs.pop("contact", sample())
    lib = kwargs.pop("library", shipped())
    options: dict[str, object] = {"settings": SETTINGS, "message_id": MID}
    if lib.get(letter).spec.follow_up:  # type: ignore[union-attr]
        options["previous"] = PREVIOUS
    options.update(kwargs)
    return lib.get(letter).render(contact, **options)  # type: ignore[union-attr]


# --- every letter, language, kind and ask combination --------------------------------


def test_every_letter_renders_for_every_sample_in_every_language() -> None:
    lib = shipped()
    assert {"mep", "government", "follow-up"} <= set(lib.names())
    for letter, row in itertools.product(lib.letters(), SAMPLES):
        for lang in letter.languages:
            r = letter.render(sample(**row), settings=SETTINGS, message_id=MID, lang=lang,
                              previous=PREVIOUS if letter.spec.follow_up else None)
            text, html = parts(r.message)
            assert r.language == lang
            assert not r.fell_back
            assert text.strip()
            assert "<p>" in html
            assert "{{" not in text, (letter.name, lang)
            assert "{%" not in text, (letter.name, lang)


@pytest.mark.parametrize("letter", ["mep", "government", "follow-up"])
def test_every_ask_combination_renders_and_carries_its_asks(letter: str) -> None:
    lib = shipped()
    english = {ask: md.render((shipped_templates() / "_partials/en/asks" / f"{ask}.md")
                              .read_text())[1].split("**")[0][:20] for ask in ASKS}
    for size in range(len(ASKS) + 1):
        for combo in itertools.combinations(ASKS, size):
            r = render(letter, library=lib, asks=list(combo), lang="en")
            text, _ = parts(r.message)
            for ask in ASKS:
                head = english[ask].removeprefix("- ").strip()
                assert (head in text) == (ask in combo), (letter, combo, ask)


def test_main_letters_stay_under_about_350_words() -> None:
    for letter in ("mep", "government"):
        lib = shipped()
        for lang in lib.get(letter).languages:
            r = render(letter, library=lib, asks=list(ASKS), lang=lang)
            assert len(r.text.split()) <= 380, (letter, lang, len(r.text.split()))


def test_an_mep_letter_greets_a_minister_as_a_minister() -> None:
    minister = sample(**SAMPLES[2])  # German federal minister
    r = render("mep", contact=minister, lang="en")
    assert r.text.startswith("Dear Minister,\n")
    assert "Member of the European Parliament" not in r.text.split("\n")[2]
    assert "table parliamentary questions" not in r.text


def test_mep_letter_names_committee_and_chair_and_country() -> None:
    r = render("mep", contact=sample(role="Member", committees=["DROI", "LIBE"]), lang="en")
    assert "As a member of the Subcommittee on Human Rights (DROI) and of the Committee on " \
           "Civil Liberties, Justice and Home Affairs (LIBE)" in r.text
    assert "the government of Slovenia" in r.text
    chair = render("mep", contact=sample(role="Chair of DROI"), lang="en")
    assert "As Chair of the Subcommittee on Human Rights (DROI)" in chair.text


def test_government_letter_says_whether_the_country_is_in_the_eu() -> None:
    eu = render("government", contact=sample(kind="ministry", country="DE"), lang="en")
    assert "member state of the European Union, Germany" in eu.text
    coe = render("government", contact=sample(kind="ministry", country="NO"), lang="en")
    assert "European Union" not in coe.text
    assert "Council of Europe, Norway" in coe.text


def test_follow_up_refers_to_the_first_letter_and_threads() -> None:
    r = render("follow-up", lang="en", in_reply_to="<first@example.org>",
               references=["<first@example.org>"])
    assert r.subject == "Re: Interpol reform"
    assert "On 2 November 2026" in r.text
    assert '"Interpol reform"' in r.text
    parsed = parse(r.message)
    assert parsed["In-Reply-To"] == "<first@example.org>"
    assert parsed["References"] == "<first@example.org>"


def test_follow_up_without_previous_is_an_error() -> None:
    with pytest.raises(TemplateError, match="previous"):
        shipped().get("follow-up").render(sample(), settings=SETTINGS, message_id=MID)


# --- language choice ----------------------------------------------------------------


def test_language_without_a_version_falls_back_to_english() -> None:
    r = render("mep", contact=sample(language="pl", country="PL"))
    assert (r.language, r.wanted_language, r.fell_back) == ("en", "pl", True)
    assert parse(r.message)["Content-Language"] == "en"


def test_language_comes_from_the_country_when_the_contact_has_none(tmp_path: Path) -> None:
    lib = _local_library(tmp_path, {"demo/de/body.md": "{{ salutation }}\n\nHallo.\n",
                                    "demo/de/subject.txt": "Betreff\n"})
    r = lib.get("demo").render(sample(language="", country="AT", honorific="Herr",
                                      last_name="Huber", role=""),
                               settings=SETTINGS, message_id=MID)
    assert r.language == "de"
    assert r.text.startswith("Sehr geehrter Herr Huber,")


# --- contact data is data -------------------------------------------------------------


def test_crlf_in_a_name_adds_no_header() -> None:
    evil = sample(name="Anna\r\nBcc: x@example.org", last_name="Novak\r\nBcc: y@example.org")
    r = render("mep", contact=evil)
    parsed = parse(r.message)
    assert parsed["Bcc"] is None
    head = r.message.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"^Bcc:", head, re.MULTILINE | re.IGNORECASE)
    assert "x@example.org" in str(parsed["To"])  # kept inside the display name
    assert parsed["To"].addresses[0].addr_spec == "anna.novak@europarl.europa.eu"


def test_crlf_in_subject_and_settings_adds_no_header(tmp_path: Path) -> None:
    lib = _local_library(tmp_path, {
        "demo/en/subject.txt": "Hello {{ contact.last_name }}\n",
        "demo/en/body.md": "{{ salutation }}\n",
    })
    settings = dataclasses.replace(SETTINGS, sender=Sender(name="Us\r\nX-Evil: 1"))
    r = lib.get("demo").render(sample(last_name="N\r\nCc: z@example.org"), settings=settings,
                               message_id=MID, reply_to="a@example.org\r\nX-Evil: 2")
    parsed = parse(r.message)
    assert parsed["Cc"] is None
    assert parsed["X-Evil"] is None
    assert parsed["Subject"] == "Hello N Cc: z@example.org"


def test_template_syntax_in_contact_data_is_printed_literally() -> None:
    r = render("mep", contact=sample(name="{{ 7*7 }}", last_name="{{ 7*7 }}",
                                     honorific="Ms"))
    text, html = parts(r.message)
    assert "Dear Ms {{ 7*7 }}," in text
    assert "49" not in text
    assert "{{ 7*7 }}" in html


def test_markdown_and_html_in_contact_data_stay_text(tmp_path: Path) -> None:
    lib = _local_library(tmp_path, {
        "demo/en/subject.txt": "Hi\n",
        "demo/en/body.md": "Org: {{ contact.organisation }}\n\n{{ sender.signature }}\n",
    })
    settings = dataclasses.replace(SETTINGS, sender=Sender(signature="Line one\nLine two"))
    evil = "<script>x()</script> [click](https://evil.example) *bold* # no"
    r = lib.get("demo").render(sample(organisation=evil), settings=settings, message_id=MID)
    text, html = parts(r.message)
    assert f"Org: {evil}" in text
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<a " not in html
    assert "<em>" not in html
    assert "<h1>" not in html
    assert "Line one<br />\nLine two" in html
    assert "Line one\nLine two" in text


# --- errors name the template, the line and the contact -------------------------------


def test_missing_field_names_contact_template_and_line(tmp_path: Path) -> None:
    lib = _local_library(tmp_path, {
        "demo/en/subject.txt": "Hi\n",
        "demo/en/body.md": "{{ salutation }}\n\nYou work at\n{{ contact.organisation }}.\n",
    })
    with pytest.raises(TemplateError) as err:
        lib.get("demo").render(sample(organisation=""), settings=SETTINGS, message_id=MID)
    assert err.value.place == "demo/en/body.md:4"
    assert "anna.novak@europarl.europa.eu" in str(err.value)
    assert "organisation" in str(err.value)


def test_a_tested_empty_field_is_fine(tmp_path: Path) -> None:
    lib = _local_library(tmp_path, {
        "demo/en/subject.txt": "Hi\n",
        "demo/en/body.md": "{% if contact.organisation %}At {{ contact.organisation }}."
                           "{% else %}No org.{% endif %}\n",
    })
    r = lib.get("demo").render(sample(organisation=""), settings=SETTINGS, message_id=MID)
    assert r.text == "No org.\n"


def test_error_in_a_partial_names_the_partial(tmp_path: Path) -> None:
    lib = _local_library(tmp_path, {
        "demo/en/subject.txt": "Hi\n",
        "demo/en/body.md": "Text\n\n{% include \"signature.md\" %}\n",
        "_partials/en/signature.md": "\n{{ sender.nonexistent }}\n",
    })
    with pytest.raises(TemplateError) as err:
        lib.get("demo").render(sample(), settings=SETTINGS, message_id=MID)
    assert err.value.place == "_partials/en/signature.md:2"


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    lib = _local_library(tmp_path, {"demo/en/subject.txt": "Hi\n",
                                    "demo/en/body.md": "ok\n\n{% if %}\n"})
    with pytest.raises(TemplateError) as err:
        lib.get("demo").render(sample(), settings=SETTINGS, message_id=MID)
    assert err.value.place == "demo/en/body.md:3"


def test_sandbox_refuses_unsafe_attributes(tmp_path: Path) -> None:
    lib = _local_library(tmp_path, {
        "demo/en/subject.txt": "Hi\n",
        "demo/en/body.md": "{{ contact.__class__.__mro__ }}\n",
    })
    with pytest.raises(TemplateError):
        lib.get("demo").render(sample(), settings=SETTINGS, message_id=MID)


def test_unknown_letter_and_ask_are_errors() -> None:
    with pytest.raises(TemplateError, match="no letter named 'nope'"):
        shipped().get("nope")
    with pytest.raises(TemplateError, match="unknown ask"):
        render("mep", asks=["world-peace"])


def test_local_letter_and_partial_take_precedence(tmp_path: Path) -> None:
    lib = Library([tmp_path, shipped_templates()])
    (tmp_path / "mep" / "en").mkdir(parents=True)
    (tmp_path / "mep" / "letter.toml").write_text('asks = ["caucus"]\n')
    (tmp_path / "mep" / "en" / "subject.txt").write_text("Local subject\n")
    (tmp_path / "mep" / "en" / "body.md").write_text(
        "{% for ask in asks %}\n{% include \"asks/\" ~ ask ~ \".md\" %}\n{% endfor %}\n")
    (tmp_path / "_partials" / "en" / "asks").mkdir(parents=True)
    (tmp_path / "_partials" / "en" / "asks" / "caucus.md").write_text("- Local caucus.\n")
    r = lib.get("mep").render(sample(), settings=SETTINGS, message_id=MID, asks=["caucus",
                                                                                  "funding"])
    assert r.subject == "Local subject"
    assert lib.get("mep").spec.local
    assert r.text.startswith("- Local caucus.\n- Adequate resources")


# --- the message --------------------------------------------------------------------


def test_message_is_standard_and_round_trips() -> None:
    r = render("mep", contact=sample(name="Ánna Nóvak", last_name="Nóvak"), lang="en",
               reply_to="replies+tok@example.org")
    raw = r.message
    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    parsed = parse(raw)
    assert parsed["Date"] is None
    assert parsed["Message-ID"] == MID
    assert parsed["MIME-Version"] == "1.0"
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["Subject"] == r.subject
    assert parsed["To"].addresses[0].display_name == "Ánna Nóvak"
    assert parsed["From"].addresses[0].addr_spec == SETTINGS.sender.address
    assert parsed["Reply-To"] == "replies+tok@example.org"
    assert parsed["Precedence"] is None
    assert parsed["List-Unsubscribe"] is None
    text, html = parts(raw)
    assert text == r.text
    assert html == r.html
    for part in parsed.iter_parts():
        assert part.get_content_charset() == "utf-8"
    assert not parsed.defects
    assert all(not p.defects for p in parsed.walk())


def test_long_lines_and_long_subjects_are_wrapped(tmp_path: Path) -> None:
    long_word = "x" * 3000
    lib = _local_library(tmp_path, {"demo/en/subject.txt": "Ä " + "word " * 80 + "\n",
                                    "demo/en/body.md": f"{long_word}\n"})
    r = lib.get("demo").render(sample(name="N" * 500), settings=SETTINGS, message_id=MID)
    assert max(len(line) for line in r.message.split(b"\r\n")) <= 998
    parsed = parse(r.message)
    assert parsed["Subject"] == r.subject
    assert parts(r.message)[0].strip() == long_word


def test_list_unsubscribe_only_when_configured() -> None:
    settings = dataclasses.replace(
        SETTINGS, sender=Sender(list_unsubscribe="mailto:optout@example.org"))
    r = shipped().get("mep").render(sample(), settings=settings, message_id=MID)
    assert parse(r.message)["List-Unsubscribe"] == "<mailto:optout@example.org>"
    assert b"Precedence" not in r.message


def test_with_date_adds_a_date_header() -> None:
    r = render("mep")
    when = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    parsed = parse(with_date(r.message, when))
    assert parsed["Date"].datetime == when
    with pytest.raises(ValueError, match="timezone"):
        with_date(r.message, datetime(2026, 11, 30, 9, 15))


def test_dates_are_localised(tmp_path: Path) -> None:
    files = {}
    for lang in ("en", "fr", "de", "it", "es"):
        files[f"demo/{lang}/subject.txt"] = "S\n"
        files[f"demo/{lang}/body.md"] = "{{ today }}\n"
    lib = _local_library(tmp_path, files)
    got = {lang: lib.get("demo").render(sample(), settings=SETTINGS, message_id=MID, lang=lang,
                                        today=date(2026, 11, 28)).text.strip()
           for lang in ("en", "fr", "de", "it", "es")}
    assert got == {"en": "28 November 2026", "fr": "28 novembre 2026",
                   "de": "28. November 2026", "it": "28 novembre 2026",
                   "es": "28 de noviembre de 2026"}


def test_block_rendering_equals_whole_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    def every_letter() -> list[tuple[str, str]]:
        lib = shipped()
        out = []
        for letter, row in itertools.product(lib.letters(), SAMPLES):
            for lang in letter.languages:
                r = letter.render(sample(**row), settings=SETTINGS, message_id=MID, lang=lang,
                                  asks=list(ASKS),
                                  previous=PREVIOUS if letter.spec.follow_up else None)
                out.append((r.text, r.html))
        return out

    tricky = "Para one\n\n- a\n\n- b\n\n  continued\n\n1. x\n2. y\n\n> quote\n\n    code\n"
    assert md.blocks(tricky)[1] == "- a\n\n- b\n\n  continued\n\n1. x\n2. y"
    assert md.render(tricky) == md.render_whole(tricky)
    fenced = "```\na\n\nb\n```\n"
    assert md.render(fenced) == md.render_whole(fenced)
    cached = every_letter()
    monkeypatch.setattr(md, "render", md.render_whole)
    assert every_letter() == cached


def _local_library(root: Path, files: dict[str, str]) -> Library:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for letter in {name.split("/")[0] for name in files if not name.startswith("_")}:
        (root / letter / "letter.toml").write_text('description = "test"\n')
    return Library([root, shipped_templates()])


def test_the_shipped_folder_named_twice_is_not_local() -> None:
    lib = Library([shipped_templates(), shipped_templates()])
    assert lib.get("mep").spec.local is False
    assert len(lib.roots) == 1
