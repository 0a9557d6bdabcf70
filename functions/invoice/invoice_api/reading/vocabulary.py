"""The words invoices use, from vocabulary.json, as matchers over case- and accent-folded text.

Every matcher is one compiled alternation, longest label first, so a scan of a line is linear in
the line and the longest label at a place wins ("total excl. vat" is a subtotal, not a total).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt")


def fold(text: str) -> str:
    """Lower case without accents, one character for one, so offsets stay valid in the original."""
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(char) for char in text)


@cache
def _fold_char(char: str) -> str:
    lowered = char.lower()[:1] or char
    base = unicodedata.normalize("NFKD", lowered)[:1]
    # NBSP, narrow NBSP and the like become a plain space: labels are written with spaces.
    return " " if base.isspace() else base or lowered


@dataclass(frozen=True)
class Term:
    kind: str  # the field, party, title or column it names
    strength: str  # "strong" or "weak" (labels); "" elsewhere
    languages: frozenset[str]


@dataclass(frozen=True)
class Hit:
    term: Term
    start: int
    end: int


class Matcher:
    def __init__(self, terms: dict[str, Term]) -> None:
        self.terms = terms
        alternatives = "|".join(re.escape(label) for label in sorted(terms, key=len, reverse=True))
        # Not inside a word on either side; a label's own punctuation ("n°", "p.u.") is part of it.
        self.pattern = re.compile(rf"(?<![\w])(?:{alternatives})(?![\w])")

    def hits(self, folded: str) -> list[Hit]:
        return [Hit(self.terms[match[0]], match.start(), match.end()) for match in self.pattern.finditer(folded)]

    def whole(self, folded: str) -> Term | None:
        """The term when the text is that label and nothing else (punctuation aside)."""
        return self.terms.get(folded.strip(" :#.-\u2013\u2014/\t"))


@cache
def _data() -> dict[str, Any]:
    with (Path(__file__).parent / "vocabulary.json").open(encoding="utf-8") as file:
        return json.load(file)  # type: ignore[no-any-return]


def _add(terms: dict[str, Term], label: str, kind: str, strength: str, language: str) -> None:
    key = fold(label)
    known = terms.get(key)
    if known is None or (known.kind != kind and strength == "strong" and known.strength == "weak"):
        # New, or a word that is weak for one field in one language and names another outright
        # elsewhere: the outright meaning wins.
        terms[key] = Term(kind, strength, frozenset({language}))
    elif known.kind == kind:
        # The same word for the same field in several languages; strong if it is strong in any.
        strongest = "strong" if "strong" in (known.strength, strength) else strength
        terms[key] = Term(kind, strongest, known.languages | {language})


@cache
def labels() -> Matcher:
    terms: dict[str, Term] = {}
    for strength in ("strong", "weak"):
        for kind, strengths in _data()["labels"].items():
            for language, words in strengths.get(strength, {}).items():
                for word in words:
                    _add(terms, word, kind, strength, language)
    return Matcher(terms)


def _grouped(section: str) -> Matcher:
    terms: dict[str, Term] = {}
    for kind, by_language in _data()[section].items():
        for language, words in by_language.items():
            for word in words:
                _add(terms, word, kind, "", language)
    return Matcher(terms)


@cache
def parties() -> Matcher:
    return _grouped("parties")


@cache
def titles() -> Matcher:
    return _grouped("titles")


@cache
def columns() -> Matcher:
    return _grouped("columns")


@cache
def carry_over() -> re.Pattern[str]:
    words = sorted((fold(word) for word in _data()["carry_over"]), key=len, reverse=True)
    return re.compile(rf"(?<!\w)(?:{'|'.join(map(re.escape, words))})(?!\w)")


@cache
def payment_terms() -> re.Pattern[str]:
    """'Net 30', '30 days', 'innerhalb 14 Tagen', 'a 30 giorni', '30 gg': the days in `days`."""
    terms = _data()["payment_terms"]
    days = sorted({fold(word) for words in terms["days"].values() for word in words}, key=len, reverse=True)
    net = "|".join(map(re.escape, terms["net"]))
    unit = "|".join(map(re.escape, days))
    # "Net 30" but not "Net 30.00" or "Netto 38'517.84" (amounts); "30 days" but not "30 daysoff".
    return re.compile(
        rf"(?<!\w)(?:(?:{net})\s*(?P<net>\d{{1,3}})(?![\d.,'\u2019 ]?\d)|(?P<days>\d{{1,3}})\s*(?:{unit})(?!\w))"
    )


@cache
def legal_forms() -> re.Pattern[str]:
    words = sorted((fold(word) for word in _data()["legal_forms"]), key=len, reverse=True)
    return re.compile(rf"(?<![\w.])(?:{'|'.join(map(re.escape, words))})(?![\w])")


@cache
def months() -> dict[str, tuple[int, frozenset[str]]]:
    """Folded month name or abbreviation -> (month number, the languages that write it so)."""
    found: dict[str, tuple[int, set[str]]] = {}
    for language, names in _data()["months"].items():
        for number, spellings in enumerate(names, start=1):
            for spelling in spellings:
                key = fold(spelling)
                month, languages = found.setdefault(key, (number, set()))
                if month == number:
                    languages.add(language)
    return {key: (month, frozenset(languages)) for key, (month, languages) in found.items()}
