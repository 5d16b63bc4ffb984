"""The greeting line of a letter, by language, honorific, role and kind.

The honorific a contact file gives (``Ms``, ``Mme``, ``Herr``, ``Sra.``,
``Dr``, ``Prof.``…) is read for a gender and an academic title. With no
gender the greeting is a correct neutral form of the language: never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LANGUAGES = ("en", "fr", "de", "it", "es")

# "On." (Onorevole), "Avv." and "Ing." are used for women and men alike: no gender.
_MALE = {"mr", "m", "monsieur", "herr", "sr", "senor", "señor", "don", "sig", "signor",
         "signore", "dott"}
_FEMALE = {"ms", "mrs", "miss", "mme", "madame", "mlle", "frau", "sra", "senora", "señora",
           "dona", "doña", "sigra", "signora", "dottssa", "dott.ssa", "avvssa"}
_DOCTOR = {"dr", "dra", "doctor", "doctora", "dott", "dottssa"}
_PROFESSOR = {"prof", "professor", "professeur", "profesor", "profesora", "professoressa"}
_FEMALE_ONLY_TITLES = {"dra", "doctora", "profesora", "professoressa", "dottssa"}

_MINISTER = re.compile(
    r"minist(er|re|ro|ra|erin)\b|secretary of state|home secretary|foreign secretary"
    r"|lord chancellor|federal councillor|bundesrätin|bundesrat\b|conseill(er|ère) fédéral"
    r"|consiglier[ea] federale",
    re.IGNORECASE,
)
_DEPUTY = re.compile(r"deputy|adjoint|stellvertret|vice|aggiunt|adjunt", re.IGNORECASE)
_AMBASSADOR = re.compile(
    r"ambassad|botschafter|ambasciat|embajador|permanent representative|représentant permanent"
    r"|représentante permanente|ständige[rn]? vertreter|rappresentante permanente"
    r"|representante permanente",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Honorific:
    gender: str  # "f", "m" or "" (unknown)
    doctor: bool
    professor: bool


def parse_honorific(text: str) -> Honorific:
    """``"Mme"`` → f; ``"Herr Dr."`` → m + doctor; ``"Mx"`` or ``""`` → unknown."""
    words = [w.replace(".", "").casefold() for w in re.split(r"[\s/]+", text.strip()) if w]
    gender = ""
    for w in words:
        if w in _FEMALE or w in _FEMALE_ONLY_TITLES:
            gender = "f"
        elif w in _MALE and w not in _DOCTOR:
            gender = "m"
    doctor = any(w in _DOCTOR for w in words)
    professor = any(w in _PROFESSOR for w in words)
    if not gender and any(w in {"dott", "dottssa"} for w in words):
        gender = "f" if "dottssa" in words else ""
    return Honorific(gender=gender, doctor=doctor, professor=professor)


def office(role: str, kind: str) -> str:
    """``minister``, ``ambassador`` or ``""`` from the role text (any language)."""
    if _DEPUTY.search(role):
        return ""
    if _MINISTER.search(role) and not re.search(r"ministry|ministère|ministerium", role, re.I):
        return "minister"
    if _AMBASSADOR.search(role):
        return "ambassador"
    if kind == "permanent-representation" and re.search(r"head|chef|leiter|capo|jefe", role, re.I):
        return "ambassador"
    return ""


def salutation(
    *, language: str, honorific: str, role: str, kind: str, first_name: str, last_name: str,
    name: str,
) -> str:
    """The full greeting line, punctuation included.

    A name is used only when it is a person's (a first or last name is known): a
    contact named after an office ("Office of the Home Secretary") is greeted by
    the office or with the collective formal greeting.
    """
    h = parse_honorific(honorific)
    post = office(role, kind)
    last = last_name.strip()
    person = bool(first_name.strip() or last)
    full = (name.strip() or f"{first_name.strip()} {last}".strip()) if person else ""
    fn = _BY_LANGUAGE.get(language, _en)
    return fn(h, post, kind, last, full)


def _en(h: Honorific, post: str, kind: str, last: str, full: str) -> str:
    if post == "minister":
        return "Dear Minister,"
    if post == "ambassador":
        return "Dear Ambassador,"
    if last:
        if h.professor:
            return f"Dear Professor {last},"
        if h.doctor:
            return f"Dear Dr {last},"
        if h.gender:
            return f"Dear {'Ms' if h.gender == 'f' else 'Mr'} {last},"
    if full:
        return f"Dear {full},"
    # not "Dear Sir or Madam": spam filters score it (SpamAssassin's DEAR_SOMETHING, 2.0)
    if kind == "mep":
        return "Dear Member of the European Parliament,"
    if kind == "national-mp":
        return "Dear Member of Parliament,"
    return "Dear colleagues,"


def _fr(h: Honorific, post: str, kind: str, last: str, full: str) -> str:
    # French letters greet by office or by Madame/Monsieur, never by surname.
    titles = {
        "minister": ("Madame la Ministre,", "Monsieur le Ministre,"),
        "ambassador": ("Madame l'Ambassadrice,", "Monsieur l'Ambassadeur,"),
        "mep": ("Madame la Députée,", "Monsieur le Député,"),
        "national-mp": ("Madame la Députée,", "Monsieur le Député,"),
    }
    key = post or kind
    if h.gender and key in titles:
        return titles[key][0 if h.gender == "f" else 1]
    if h.gender:
        return "Madame," if h.gender == "f" else "Monsieur,"
    if post == "minister":
        return "Madame la Ministre, Monsieur le Ministre,"
    if post == "ambassador":
        return "Madame l'Ambassadrice, Monsieur l'Ambassadeur,"
    if kind in ("mep", "national-mp") and full:
        return "Madame la Députée, Monsieur le Député,"
    return "Madame, Monsieur,"


def _de(h: Honorific, post: str, kind: str, last: str, full: str) -> str:
    if h.gender:
        fem = h.gender == "f"
        opener = "Sehr geehrte Frau" if fem else "Sehr geehrter Herr"
        if post == "minister":
            return f"{opener} {'Ministerin' if fem else 'Minister'},"
        if post == "ambassador":
            return f"{opener} {'Botschafterin' if fem else 'Botschafter'},"
        if last:
            title = "Prof. " if h.professor else ("Dr. " if h.doctor else "")
            return f"{opener} {title}{last},"
    if post == "minister":
        return "Sehr geehrte Frau Ministerin, sehr geehrter Herr Minister,"
    if post == "ambassador":
        return "Sehr geehrte Frau Botschafterin, sehr geehrter Herr Botschafter,"
    if full:
        title = "Prof. " if h.professor else ("Dr. " if h.doctor else "")
        shown = f"{title}{full}" if title and not full.startswith(title.strip()) else full
        return f"Guten Tag {shown},"
    return "Sehr geehrte Damen und Herren,"


def _it(h: Honorific, post: str, kind: str, last: str, full: str) -> str:
    fem = h.gender == "f"
    if post == "minister" and h.gender:
        return "Gentile Ministra," if fem else "Gentile Ministro,"
    if post == "ambassador" and h.gender:
        return "Gentile Ambasciatrice," if fem else "Gentile Ambasciatore,"
    if post == "minister":
        return "Gentile Ministra, gentile Ministro,"
    if post == "ambassador":
        return "Gentile Ambasciatrice, gentile Ambasciatore,"
    if kind in ("mep", "national-mp") and last:
        return f"Gentile On. {last},"
    if last and h.gender:
        if h.professor:
            return f"Gentile {'Prof.ssa' if fem else 'Prof.'} {last},"
        if h.doctor:
            return f"Gentile {'Dott.ssa' if fem else 'Dott.'} {last},"
        return f"Gentile {'Sig.ra' if fem else 'Sig.'} {last},"
    return f"Gentile {full}," if full else "Gentili Signore e Signori,"


def _es(h: Honorific, post: str, kind: str, last: str, full: str) -> str:
    if h.gender:
        fem = h.gender == "f"
        opener = "Estimada" if fem else "Estimado"
        if post == "minister":
            return f"{opener} {'Sra. Ministra' if fem else 'Sr. Ministro'}:"
        if post == "ambassador":
            return f"{opener} {'Sra. Embajadora' if fem else 'Sr. Embajador'}:"
        if last:
            if h.doctor:
                return f"{opener} {'Dra.' if fem else 'Dr.'} {last}:"
            return f"{opener} {'Sra.' if fem else 'Sr.'} {last}:"
    if post == "minister":
        return "Estimada Sra. Ministra, estimado Sr. Ministro:"
    if post == "ambassador":
        return "Estimada Sra. Embajadora, estimado Sr. Embajador:"
    return f"Estimado/a {full}:" if full else "A quien corresponda:"


_BY_LANGUAGE = {"en": _en, "fr": _fr, "de": _de, "it": _it, "es": _es}
