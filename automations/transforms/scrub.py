"""Free-text scrubbing: take names and contact details out of one application's answers.

Pure functions, no I/O. :func:`scrub` finds every identifier in a piece of text
and replaces it: the candidate's own name by their label ("Candidate A" or "the
candidate"), everything else by a placeholder in square brackets ("[email]",
"[phone number]" …). It returns the new text, how many of each kind it removed,
and where it was unsure (word positions, never the words).

How matching works, so the choices can be checked:

* The text is *folded* first (accents stripped, curly apostrophes and dashes made
  plain) with a map back to the original characters, so "Siobhán", "Siobhan",
  "O’Brien" and "O'Brien" are found by one pattern and the replacement cuts the
  original text exactly.
* Structured identifiers (emails, web addresses, phone numbers, postcodes, NI
  numbers, dates of birth, street addresses) are regular patterns; phone numbers
  are checked by digit count, and international ones with ``phonenumbers``. Ofcom's
  drama ranges (07700 900xxx, 01632 960xxx …) are caught because the check is on
  layout and length, not on whether a number is in service.
* Names come from the application's own columns (the candidate, preferred name,
  common nicknames from ``redact_data/nicknames.csv``, referees and any other
  ``*_name`` column). They are looked up word by word in small dictionaries built
  per application (no pattern is compiled per application), joining neighbouring
  words ("O Brien", "Mac Donald", "Hill, Joy", "Mrs J. Hill"). A name that is also
  an ordinary English word (Joy, Hill, Frank, Bell …; the list in
  ``redact_data/common_words.txt.gz`` is the lower-case words of Debian's
  ``wamerican`` word list) is only taken when it is written with a capital letter,
  and at the start of a sentence only when what follows reads like a name ("Joy
  is", "Joy's", "Joy,"). Otherwise it is left and the position flagged for a person.
* The form's own values (NI number, postcode, phones, emails, date of birth, each
  comma part of the address) are also looked for whatever the spacing, case or
  punctuation (:func:`find_values`), and dates in words ("the ninth of March
  nineteen seventy-one", "9th Mar '71") are read and compared with the date of birth.
* People named only in the answers come from ``redact_data/given_names.txt.gz``
  (capitalised, with the same ordinary-word care) or follow a role ("my sister …").
  The candidate's initials ("R.K.", "C J H") are taken, ordinary capitals (I, A,
  UK, NHS) are not.
* Each structured pattern is tried only near what it needs (an ``@``, a digit, a
  dotted word, "[at]", a platform name, "born"), so long ordinary prose costs little.
* Overlapping finds are merged, so a name inside an email or a web address goes
  with it, and the same label is never written twice in a row.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import itertools
import re
import unicodedata
from bisect import bisect_right as _bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import phonenumbers

# kind -> (placeholder, words for the report). Own name uses the candidate's label.
KINDS: dict[str, tuple[str, str]] = {
    "own_name": ("", "own name"),
    "referee": ("[referee]", "referee name"),
    "other_name": ("[name]", "other name"),
    "email": ("[email]", "email"),
    "phone": ("[phone number]", "phone number"),
    "postcode": ("[postcode]", "postcode"),
    "address": ("[address]", "address"),
    "ni_number": ("[NI number]", "NI number"),
    "date_of_birth": ("[date of birth]", "date of birth"),
    "web_address": ("[web address]", "web address"),
    "handle": ("[social media handle]", "social media handle"),
}
# When finds overlap and are the same length, the earlier kind in this list wins.
_PRIORITY = {k: i for i, k in enumerate(KINDS)}

TITLES = (
    r"(?:mr|mrs|ms|miss|mx|dr|doctor|prof|professor|sir|dame|rev|revd|reverend"
    r"|cllr|councillor)"
)
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_MONTH_NUM = {
    m: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for m in names
}
_TLDS = (
    r"(?:co\.uk|org\.uk|gov\.uk|nhs\.uk|ac\.uk|me\.uk|net\.uk|sch\.uk|ltd\.uk|com|org|net|uk"
    r"|io|me|info|biz|edu|gov|ie|eu|scot|wales|cymru|london|co|app|dev|blog|online|site"
    r"|page|tv|ly|xyz|social|art|studio|design)"
)
_STREET_FULL = (
    "Street|Road|Lane|Avenue|Close|Grove|Drive|Way|Court|Crescent|Place|Terrace|Gardens"
    "|Square|Row|Walk|Mews|Parade|Hill|Rise|View|Green|Park|Gate|Wynd|Croft|Fold|Vale"
    "|Meadows|Hall|House|Cottages"
)
_STREET_ABBR = "St|Rd|Ln|Ave|Cl|Dr|Ct|Cres|Pl|Tce|Gdns|Sq"
_STREET_TYPES = _STREET_FULL + "|" + _STREET_ABBR

_APOSTROPHES = "'\u2019\u2018\u02bc\u0060\u00b4\u2032"
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212"

# --------------------------------------------------------------------------- data


@cache
def common_words() -> frozenset[str]:
    """Lower-case English words: a name that is one of these needs a capital to count."""
    raw = resources.files("automations").joinpath("redact_data/common_words.txt.gz").read_bytes()
    return frozenset(gzip.decompress(raw).decode("utf-8").split())


@cache
def given_names() -> frozenset[str]:
    """Folded lower-case given names used in the UK, across origins (``redact_data/README.md``)."""
    raw = resources.files("automations").joinpath("redact_data/given_names.txt.gz").read_bytes()
    return frozenset(gzip.decompress(raw).decode("utf-8").split())


@cache
def nickname_table() -> dict[str, frozenset[str]]:
    """Folded lower-case name -> its common nicknames (Robert -> Bob, Rob, Robbie …).

    One direction only: a "Jack" is seldom a "John" on paper, and taking every
    John out of "St John Ambulance" for a Jack costs more than it saves.
    """
    text = resources.files("automations").joinpath("redact_data/nicknames.csv").read_text("utf-8")
    out: dict[str, set[str]] = {}
    for row in csv.DictReader(text.splitlines()):
        name, nick = fold(row["name"])[0].lower(), fold(row["nickname"])[0].lower()
        out.setdefault(name, set()).add(nick)
    return {k: frozenset(v) for k, v in out.items()}


# Capitalised words that are not names: not worth a person's attention.
_NOT_NAMES_TEXT = """
    i im ive id ill monday tuesday wednesday thursday friday saturday sunday january february
    march april may june july august september october november december christmas easter
    eid diwali ramadan hanukkah english british welsh scottish irish england scotland wales
    ireland uk nhs gp ok okay covid instagram facebook twitter tiktok linkedin youtube
    snapchat whatsapp zoom teams google microsoft"""
_NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())

# Words after a capitalised first word of a sentence that say "this is a person".
_FOLLOWERS_TEXT = """
    is was has had here says said will would can could did does and works worked helped
    thinks thought believes wants loves likes knows also always never cares lives lived
    volunteers volunteered supports supported listens listened leads led brings feels felt
    hopes became started joined grew studied trained manages managed runs ran speaks spoke
    told tells asked asks wrote writes am"""
_NAME_FOLLOWERS = frozenset(_FOLLOWERS_TEXT.split())

# --------------------------------------------------------------------------- folding

_FOLD_CACHE: dict[str, str] = {}
# Letters that Unicode does not split into a base letter and an accent.
_NO_DECOMPOSE = {
    "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ß": "ss", "æ": "ae",
    "Æ": "AE", "œ": "oe", "Œ": "OE", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D", "ı": "i",
}  # fmt: skip


def _fold_char(ch: str) -> str:
    got = _FOLD_CACHE.get(ch)
    if got is None:
        if ch in _APOSTROPHES:
            got = "'"
        elif ch in _DASHES:
            got = "-"
        elif ch in "\u00a0\u2007\u202f\u2009\u200a":
            got = " "
        elif ch in "\u200b\u200c\u200d\ufeff":
            got = ""
        elif ch in _NO_DECOMPOSE:
            got = _NO_DECOMPOSE[ch]
        else:
            nf = unicodedata.normalize("NFKD", ch)
            got = "".join(c for c in nf if not unicodedata.combining(c))
        _FOLD_CACHE[ch] = got
    return got


_NON_PLAIN = re.compile(r"[^\x20-\x5f\x61-\x7e\n\r\t]")


def fold(text: str) -> tuple[str, list[int] | None]:
    """Text with accents stripped and apostrophes/dashes plain, and a map back.

    The map gives, for each character of the folded text, the index of the
    original character it came from; ``None`` when nothing changed.
    """
    if not _NON_PLAIN.search(text):
        return text, None
    out: list[str] = []
    idx: list[int] = []
    last = 0
    for m in _NON_PLAIN.finditer(text):
        i = m.start()
        if i > last:
            out.append(text[last:i])
            idx.extend(range(last, i))
        f = _fold_char(text[i])
        out.append(f)
        idx.extend([i] * len(f))
        last = i + 1
    out.append(text[last:])
    idx.extend(range(last, len(text)))
    return "".join(out), idx


@lru_cache(maxsize=8192)
def _fold_name(s: str) -> str:
    return " ".join(fold(s)[0].split())


# --------------------------------------------------------------------------- people


@dataclass(frozen=True)
class Person:
    """A person named in the application's own columns."""

    first: str = ""
    last: str = ""
    preferred: str = ""

    @classmethod
    def from_full(cls, full: str) -> Person:
        words = _fold_name(full).split()
        words = [w for w in words if not re.fullmatch(TITLES + r"\.?", w, re.I)]
        if not words:
            return cls()
        if len(words) == 1:
            return cls(first=words[0])
        return cls(first=words[0], last=" ".join(words[1:]))


@dataclass(frozen=True)
class Identity:
    """Everything known about who wrote one application, to find it in the answers."""

    own: Person
    label: str = "the candidate"  # "Candidate A"
    referees: tuple[Person, ...] = ()
    others: tuple[Person, ...] = ()
    address: str = ""
    date_of_birth: dt.date | None = None
    # values from the form (NI number, postcode, phones, emails), found in any layout
    values: tuple[str, ...] = ()


@dataclass
class Scrubbed:
    text: str
    counts: Counter[str] = field(default_factory=Counter)
    unsure: list[int] = field(default_factory=list)  # word positions (1-based)


# --------------------------------------------------------------------------- patterns


@lru_cache(maxsize=8192)
def _key(s: str) -> str:
    """A name as its plain letters: "O'Brien-Walsh" -> "obrienwalsh"."""
    return re.sub(r"[^a-z0-9]", "", fold(s)[0].lower())


@lru_cache(maxsize=8192)
def _is_ambiguous(word: str) -> bool:
    """True when the name is also an ordinary word, or too short to be safe alone."""
    plain = word.replace("'", "").lower()
    if len(plain) <= 2:
        return True
    return any(p in common_words() for p in re.split(r"[\s\-]+", plain) if p)


def _given_names(p: Person, with_nicknames: bool) -> list[str]:
    return list(_given_cached(p.first, p.preferred, with_nicknames))


@lru_cache(maxsize=8192)
def _given_cached(first: str, preferred: str, with_nicknames: bool) -> tuple[str, ...]:
    p = Person(first, "", preferred)
    given = [_fold_name(p.first), _fold_name(p.preferred)]
    # "Mary Jane", "Mary-Jane": "Jane" or "MARY" alone is the same person
    for g in list(given):
        parts = [w for w in re.split(r"[\s\-]+", g) if len(_key(w)) >= 2]
        if len(parts) > 1:
            given += parts
    if with_nicknames:
        table = nickname_table()
        for g in list(given):
            for n in sorted(table.get(g.lower(), ())):
                given.append(n.capitalize())
    return tuple(g for g in given if g)


# roles of a name unit
GIVEN, LAST, PART = 1, 2, 3


@dataclass(frozen=True)
class _Unit:
    """One name word found in the text (maybe several tokens: "O Brien")."""

    start: int
    end: int
    cands: tuple[tuple[int, int], ...]  # (person, role) it could belong to
    key: str
    poss: bool = False
    person: int = -1

    def role_of(self, person: int) -> int:
        for p, r in self.cands:
            if p == person:
                return r
        return 0


_TOKEN = re.compile(r"[A-Za-z0-9]+")
_JOIN_GAP = re.compile(r"'|\s|\s?-\s?")  # between the tokens of one name word
_MENTION_GAP = re.compile(r"\s+|\s*-\s*|\s*\(\s*|\s*\)\s*|\s*\)?,\s*|\.\s+|\s*[\"\u201c\u201d']\s*")


def _positions(text: str, needle: str) -> list[int]:
    """Every place ``needle`` occurs (str.find: fast, and usually nothing)."""
    out = []
    p = text.find(needle)
    while p != -1:
        out.append(p)
        p = text.find(needle, p + 1)
    return out


_DIGIT = re.compile(r"\d")
_DIGIT_RUN = re.compile(r"\d+")
_SPACE = re.compile(r"\s")
_DOT_WORD = re.compile(r"[A-Za-z0-9]\.[A-Za-z]")
_AT_BRACKETS = ("[at]", "(at)", "{at}", "<at>", "[ at ]", "( at )", "{ at }", "< at >")
_PLATFORMS = (
    "twitter", "insta", "tiktok", "facebook", "linkedin", "snapchat", "youtube", "bluesky",
    "threads", "mastodon",
)  # fmt: skip
_ADDRESS_GAP = re.compile(r"[\s,]+")


_TITLE_WORDS = frozenset(TITLES.strip("(?:)").split("|"))


def _word_before(folded: str, pos: int) -> tuple[str, int]:
    """The word just before pos (one space or tab between), and where it starts."""
    if pos < 2 or folded[pos - 1] not in " \t":
        return "", pos
    end = pos - 1
    while end > 0 and folded[end - 1] in " \t":
        end -= 1
    i = end - 1
    while i >= 0 and (folded[i].isalpha() or folded[i] == "."):
        i -= 1
    return folded[i + 1 : end], i + 1


def _tokens_from(folded: str, pos: int, n: int) -> list[tuple[int, int, str]]:
    """Up to n tokens from pos, stopping at a gap that could not be inside a name."""
    out: list[tuple[int, int, str]] = []
    while len(out) < n:
        m = _TOKEN.match(folded, pos)
        if not m:
            break
        out.append((m.start(), m.end(), m.group(0).lower()))
        g = _GAP_AFTER.match(folded, m.end())
        if not g:
            break
        pos = g.end()
    return out


_GAP_AFTER = re.compile(r"[\s,'\-]{1,3}(?=[A-Za-z0-9])")


def _prev_token_start(folded: str, pos: int) -> int:
    """Start of the word before pos when only a space, apostrophe or hyphen lies between."""
    i = pos - 1
    gap = 0
    while i >= 0 and folded[i] in " '-" and gap < 3:
        i -= 1
        gap += 1
    if gap == 0 or i < 0 or not folded[i].isalnum():
        return -1
    while i > 0 and folded[i - 1].isalnum():
        i -= 1
    return i


_EMAIL = re.compile(r"(?<![\w.+'-])[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.I)
_OPEN, _CLOSE = r"[\[\(\{<]", r"[\]\)\}>]"
_EMAIL_SPELT = re.compile(
    rf"(?<![\w.])[\w+-]+(?:\s*(?:{_OPEN}\s*dot\s*{_CLOSE}|\.)\s*[\w+-]+)*"
    rf"\s*{_OPEN}\s*at\s*{_CLOSE}\s*[\w-]+"
    rf"(?:\s*(?:{_OPEN}\s*dot\s*{_CLOSE}|\.|\s+dot\s+)\s*[\w-]+)+",
    re.I,
)
_EMAIL_WORDS = re.compile(
    rf"(?<![\w.])[\w.+-]+(?:\s+dot\s+[\w+-]+)*\s+at\s+[\w-]+(?:\s+dot\s+[\w-]+)*\s+dot\s+{_TLDS}\b",
    re.I,
)
_URL = re.compile(
    rf"(?:\b(?:https?://|www\.)[^\s<>\"]+)"
    rf"|(?<![\w@.-])[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.{_TLDS}\b(?:/[^\s<>\"]*)?",
    re.I,
)
_HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,29}[A-Za-z0-9_])?")
_HANDLE_AFTER = re.compile(
    r"\b(?:twitter|instagram|insta|tiktok|facebook|linkedin|snapchat|youtube|bluesky|threads"
    r"|mastodon)(?:\s+(?:handle|name|username|page|account|profile))?\s*(?::|is|-)\s*"
    r"@?(?P<h>[\w.]{3,30}\w)",
    re.I,
)
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d \t.\-()/]{5,20}\d(?![\d])(?!\.\d)")
_POSTCODE = re.compile(
    r"\b(?:GIR\s{0,2}0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?[ \t]{0,3}\d[ABD-HJLNP-UW-Z]{2})\b", re.I
)
# "QQ 12 34 56 C", "QQ 123 456 C", "QQ12 34 56C", "Q Q 1 2 3 4 5 6 C": spaces anywhere
_NI = re.compile(
    r"\b(?:[A-Z][ \t]?[A-Z](?:[ \t\-]{0,2}\d){6}(?:[ \t\-]{0,2}[A-D])?"
    r"|(?i:[A-Z]{2}(?:[\s-]?\d{2}){3}(?:[\s-]?[A-D])?))\b"
)
_DATE = re.compile(
    rf"\b(?:(?P<d1>\d{{1,2}})[/.\-](?P<m1>\d{{1,2}})[/.\-](?P<y1>\d{{4}}|\d{{2}})"
    rf"|(?P<y2>\d{{4}})-(?P<m2>\d{{1,2}})-(?P<d2>\d{{1,2}})"
    rf"|(?P<d3>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+(?P<m3>{_MONTHS})\.?,?\s+(?P<y3>\d{{4}}))\b",
    re.I,
)
# "March 7, 1984": looked for only just before a four-digit year
_DATE_MONTH_FIRST = re.compile(
    rf"\b(?P<m4>{_MONTHS})\.?\s+(?P<d4>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y4>\d{{4}})\b", re.I
)
_BORN_CONTEXT = re.compile(r"(?:\bborn|\bbirth|\bd\.?o\.?b\b|\bbirthday)[^.\n]{0,30}$", re.I)
# Numbers in words, for dates written out ("the ninth of March nineteen seventy-one").
_UNITS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TEENS = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINALS = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
]
_WORD_NUM = {
    **{w: i for i, w in enumerate(_UNITS, 1)},
    **{w: i for i, w in enumerate(_TEENS, 10)},
    **{w: 10 * i for i, w in enumerate(_TENS, 2)},
    **{w: i for i, w in enumerate(_ORDINALS, 1)},
    "twentieth": 20, "thirtieth": 30, "oh": 0, "o": 0, "zero": 0, "hundred": 0,
}  # fmt: skip
_U, _T = "|".join(_UNITS), "|".join(_TEENS)
_DAY_WORDS = (
    rf"(?:(?:twenty|thirty)[\s-]+)?(?:{'|'.join(_ORDINALS[:9])}|{_U})"
    rf"|{'|'.join(_ORDINALS[9:])}|twentieth|thirtieth|{_T}|twenty|thirty"
)
_YEAR_WORDS = (
    rf"(?:nineteen|twenty)[\s-]+(?:(?:{'|'.join(_TENS)})(?:[\s-]+(?:{_U}))?|{_T}"
    rf"|(?:oh|o|zero)[\s-]+(?:{_U})|hundred)"
    rf"|two[\s-]+thousand(?:[\s-]+and)?(?:[\s-]+(?:twenty(?:[\s-]+(?:{_U}))?|{_T}|{_U}))?"
)
_WDAY = rf"(?:the\s+)?(?:(?P<dd>\d{{1,2}})(?:st|nd|rd|th)?|(?P<dw>{_DAY_WORDS}))"
_WYEAR = rf"(?:(?P<yy>\d{{4}})|'(?P<y2>\d{{2}})|(?P<y2b>\d{{2}})|(?P<yw>{_YEAR_WORDS}))(?![\w'])"
# "9th Mar '71", "ninth of March 1971", "March 9th, 1971", "March the ninth, nineteen seventy-one"
_WDATE_DMY = re.compile(
    rf"\b{_WDAY}(?:\s+of)?[\s,]+(?P<mon>{_MONTHS})\b\.?(?:[\s,]+of)?[\s,]+{_WYEAR}", re.I
)
_WDATE_MDY = re.compile(rf"\b(?P<mon>{_MONTHS})\b\.?[\s,]+{_WDAY}(?:[\s,]+of)?[\s,]+{_WYEAR}", re.I)
_LOWER_WORD = re.compile(r"[a-z]+")
_BORN_YEAR = re.compile(
    rf"\bborn\s+(?:in\s+|on\s+)?(?:(?:{_MONTHS})\.?\s+)?(?:(?:19|20)\d\d\b|(?:{_YEAR_WORDS})\b)",
    re.I,
)


# every month name starts with one of these
_MONTH_STARTS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _month_positions(low: str) -> list[int]:
    """Where a month name ("May", "sept", "December") starts in the lower-case text."""
    out = []
    for start in _MONTH_STARTS:
        p = low.find(start)
        while p != -1:
            if not (p and low[p - 1].isalpha()):
                m = _LOWER_WORD.match(low, p)
                if m and m.group(0) in _MONTH_NUM:
                    out.append(p)
            p = low.find(start, p + 1)
    return sorted(out)


def _words_number(words: str) -> int:
    """ "seventy-one" -> 71, "twenty first" -> 21 (words from the patterns above)."""
    return sum(_WORD_NUM.get(w, 0) for w in re.split(r"[\s-]+", words.lower()) if w)


def _year_words(words: str) -> int:
    """ "nineteen seventy-one" -> 1971, "two thousand and four" -> 2004."""
    ws = [w for w in re.split(r"[\s-]+", words.lower()) if w and w != "and"]
    if ws[:2] == ["two", "thousand"]:
        return 2000 + _words_number(" ".join(ws[2:]))
    return 100 * _WORD_NUM[ws[0]] + _words_number(" ".join(ws[1:]))


def _word_date(m: re.Match[str]) -> tuple[int, int, int, bool] | None:
    """(day, month, year, year has two digits only) from a written-out date."""
    g = m.groupdict()
    day = int(g["dd"]) if g.get("dd") else _words_number(g["dw"] or "")
    month = _MONTH_NUM[m.group("mon").lower()]
    if g.get("yy"):
        year, short = int(g["yy"]), False
    elif g.get("yw"):
        year, short = _year_words(g["yw"]), False
    else:
        year, short = int(g.get("y2") or g.get("y2b") or 0), True
    if not 1 <= day <= 31:
        return None
    return day, month, year, short


_ADDRESS = re.compile(
    r"\b(?:(?:[Ff]lat|[Aa]partment|[Aa]pt|[Uu]nit)\.?\s+\d+[A-Za-z]?,?\s+)?"
    r"\d{1,4}[A-Za-z]?,?\s+(?:[A-Z][\w']*\s+){1,3}"
    rf"(?:(?:{_STREET_FULL})\b|(?:{_STREET_ABBR})\b(?:\.(?!\s*$|\s+[A-Z]))?)"
    r"(?:,\s*[A-Z][a-z]+(?:[\s-][A-Z][a-z]+)?(?![\w']))?"
)
_NEXT_WORD = re.compile(r" ([A-Za-z]+)")
_IN_ADDRESS = re.compile(r"[@_]|\.[A-Za-z0-9]")
# a sign-off or a name cue just before: the next capitalised word is the writer
_SIGN_OFF = re.compile(
    r"(?:\b(?:regards|wishes|thanks|thank\s+you|signed|yours|sincerely|faithfully|cheers|love"
    r"|best|warmly|name\s+is|called|known\s+as)|(?:^|\n)[ \t]*from)[ \t]*[,:\-]?\s*$",
    re.I,
)
# the name is all there is on its line (a sign-off, a heading): "Dawn\n", "Dawn Rose."
_LINE_ALONE = re.compile(r"[ \t]*[.!,]?[ \t]*(?:\n|$)")
_MONTH_BEFORE = re.compile(
    r"(?:\b(?:in|by|since|until|till|from|of|last|next|early|late|mid|during|before|after"
    r"|this|each|every|throughout|on|to)|\d(?:st|nd|rd|th)?)[ \t,]+$",
    re.I,
)
_MONTH_AFTER = re.compile(r"[ \t,]+(?:\d|the\s+\d)")
_HYPHEN_AFTER = re.compile(r"[ \t]?-[ \t]?[A-Z][A-Za-z']+")
_HYPHEN_BEFORE = re.compile(r"[A-Z][A-Za-z']+[ \t]?-[ \t]?$")
_OTHER_NAME = re.compile(r"\b(?P<w>[A-Z][a-z]+(?:-[A-Z][a-z]+)?)(?![A-Za-z0-9@])")
_OTHER_TITLES = frozenset(
    "mr mrs ms miss mx dr prof professor cllr councillor nurse auntie aunty uncle".split()  # noqa: SIM905
)
_TITLE_AT = re.compile(
    r"(?<![A-Za-z])(?:M(?:rs?|s|x|iss)|Dr|Prof(?:essor)?|Cllr|Councillor|Nurse|Aunt(?:ie|y)"
    r"|Uncle)\.?[ \t]+(?=[A-Z])"
)
_SURNAME_AFTER = re.compile(r"[ \t]+((?:O'|Mc|Mac|De|Van |Al-)?[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?)\b")
_ROLES = (
    "support worker|worker|key worker|social worker|care coordinator|coordinator|manager"
    "|line manager|boss|supervisor|mentor|colleague|friend|best friend|partner|husband|wife"
    "|son|daughter|mum|mother|dad|father|sister|brother|aunt|auntie|uncle|nan|nana|gran|granny"
    "|grandma|grandad|grandfather|grandmother|cousin|niece|nephew|neighbour|carer|nurse|doctor"
    "|gp|therapist|counsellor|tutor|teacher|advocate|peer supporter|peer|volunteer|chair"
    "|lead|keyworker|child|children|kids|boyfriend|girlfriend|fiance|fiancee|stepson"
    "|stepdaughter|flatmate|housemate|landlord|named nurse|psychiatrist|psychologist|ot"
    "|occupational therapist|team leader|trainer|coach"
)
_ROLE_CUE = re.compile(
    rf"(?:\b(?:my|our|his|her|their|your|a|the)\s+(?:[a-z]+\s+){{0,2}}?(?:{_ROLES})s?"
    r"|\bnamed|\bcalled|\bknown\s+as|\bname\s+is|\bnames\s+are)[ \t]*,?[ \t]*"
    r"(?:(?:[A-Z][a-z]+|and|,)[ \t]*)*$",
    re.I,
)
_PLACE_BEFORE = frozenset(
    [
        "in",
        "at",
        "near",
        "into",
        "around",
        "across",
        "outside",
        "inside",
        "towards",
        "visit",
        "visited",
        "visiting",
        "live",
        "lived",
        "living",
        "moved",
        "to",
    ]
)
_ORG_WORDS = frozenset(
    (_STREET_FULL.lower().replace("|", " ") + " station council hospital centre center trust "
     "group fund foundation college school university ward society project service services "
     "team church chapel mosque temple gurdwara library club academy institute hall unit "
     "partnership network forum board authority county city borough district ambulance "
     "infirmary surgery practice clinic court").split()
)  # fmt: skip
_ORG_AFTER = re.compile(r"(?:'s)?[ \t]+(?:(?:and|&|of)[ \t]+)?[A-Z]")
_SENTENCE_ON = re.compile(r"\s+[A-Z]|\s*$")
_INITIALS_TAIL = re.compile(r"(?:[ \t]+[A-Z](?:\.|(?![A-Za-z'])))+")


@lru_cache(maxsize=64)
def _initials_pattern(first_letters: str) -> re.Pattern[str]:
    """Initials starting with one of these letters (at most a few dozen patterns, ever)."""
    return re.compile(rf"(?<![A-Za-z'.])[{first_letters}](?:\.?[ \t]?[A-Z]){{1,3}}\.?(?![A-Za-z'])")


def _month_context(folded: str, s: int, e: int) -> bool:
    """True when a word that is a month reads as the month here ("3 May 2019", "in May")."""
    return bool(_MONTH_AFTER.match(folded, e) or _MONTH_BEFORE.search(folded, max(0, s - 12), s))


def _whole_name(folded: str, s: int, e: int) -> tuple[int, int]:
    """Widen a name to a closing bracket it opened and to a double-barrelled half.

    Never "Candidate A)" nor "Candidate A-Jones": "Joy (Hill)" and "Hill-Jones" go whole.
    """
    if folded.count("(", s, e) > folded.count(")", s, e):
        m = re.match(r"[ \t]*\)", folded[e:])
        if m:
            e += m.end()
    m = _HYPHEN_AFTER.match(folded, e)
    if m:
        e = m.end()
    m = _HYPHEN_BEFORE.search(folded, max(0, s - 30), s)
    if m:
        s = m.start()
    return s, e


_SHOUTING = re.compile(r"^\W*[A-Z]{2,}\W+[A-Z]{2,}")
_NAME_CUE = re.compile(
    r"(?:\bname\s+is|\bi\s+am|\bi'?m|\bcalled|\bknown\s+as|\bregards|\bsigned|\bthanks|\bfrom"
    r"|\bme,|\bme\s+-)\s*$",
    re.I,
)
_PLAIN_WORDS = re.compile(r"[A-Za-z]+(?:[-'][A-Za-z]+)+")
_PHONE_PIECE = re.compile(r"(?:\+|00)?\(?\d[\d.\-() ]{5,16}\d")
_CAP_WORD = re.compile(r"\b[A-Z][a-z]+(?:['-][A-Z]?[a-z]+)*\b")
_WORD = re.compile(r"\S+")


_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_VALUE_GAP = re.compile(r"[ \t.\-/()\[\],:+]{1,4}")
_NI_KEY = re.compile(r"[a-z]{2}\d{6}[a-d]?")
_POSTCODE_KEY = re.compile(r"[a-z]{1,2}\d[a-z\d]?\d[a-z]{2}")


def value_key(value: str) -> tuple[str, str] | None:
    """(kind, key) for a form value to look for in any layout; None for other values.

    The key is the value's plain letters and digits in lower case; a phone number's
    key is its number without the country code or leading 0 ("7700900123").
    """
    v = fold(value)[0].strip().lower()
    if "@" in v:
        return ("email", v)
    key = re.sub(r"[^a-z0-9]", "", v)
    if _NI_KEY.fullmatch(key):
        return ("ni_number", key)
    if _POSTCODE_KEY.fullmatch(key):
        return ("postcode", key)
    if key.isdigit() and len(key) >= 9:
        if key.startswith("00"):
            key = key[2:]
        if key.startswith("44") and len(key) >= 12:
            key = key[2:]
        return ("phone", key.lstrip("0"))
    return None


def _value_keys(identity: Identity) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    keys: list[tuple[str, str]] = []
    emails: list[str] = []
    for v in identity.values:
        got = value_key(v)
        if got is None:
            continue
        kind, key = got
        if kind == "email":
            emails.append(key)
            continue
        keys.append((kind, key))
        if kind == "ni_number" and len(key) == 9:
            keys.append((kind, key[:8]))  # the letter at the end left off
    dob = identity.date_of_birth
    if dob is not None:
        d, m, y = dob.day, dob.month, dob.year
        for k in {f"{d:02d}{m:02d}{y}", f"{d}{m}{y}", f"{d:02d}{m:02d}{y % 100:02d}"}:
            keys.append(("date_of_birth", k))
    return tuple(dict.fromkeys(keys)), tuple(dict.fromkeys(emails))


def _own_initials(p: Person) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    def initial(w: str) -> str:
        return _fold_name(w)[:1].upper()

    firsts = [w for w in re.split(r"[\s\-]+", p.first) if w]
    given = {initial(w) for w in [*firsts[:1], p.preferred] if w}
    middle = {initial(w) for w in firsts[1:]}
    last = {initial(w) for w in re.split(r"[\s\-]+", p.last) if w and not w.islower()}
    return frozenset(given - {""}), frozenset(middle - {""}), frozenset(last - {""})


def find_values(folded: str, keys: Sequence[tuple[str, str]]) -> list[tuple[int, int, str]]:
    """Where the form's values occur in ``folded`` whatever the spacing, case or punctuation.

    The text's letters and digits are joined into one string (a short gap of spaces
    or punctuation between words is allowed, a longer one ends the run) and each
    key is looked for in it; a find must start and end on whole words, except that
    a phone number may start after its 0 or country code.
    """
    # every key holds a digit: look only around the digits
    out: list[tuple[int, int, str]] = []
    windows: list[list[int]] = []
    n = len(folded)
    for m in _DIGIT_RUN.finditer(folded):
        ws, we = max(0, m.start() - 12), min(n, m.end() + 14)
        while ws > 0 and folded[ws - 1].isalnum():
            ws -= 1
        while we < n and folded[we].isalnum():
            we += 1
        if windows and ws <= windows[-1][1]:
            windows[-1][1] = we
        else:
            windows.append([ws, we])
    low = folded.lower()
    for ws, we in windows:
        plain = _NOT_ALNUM.sub("", low[ws:we])
        here = [k for k in keys if k[1] in plain]  # usually none: nothing more to do
        if here:
            out += _values_in(folded, ws, we, here)
    return out


def _values_in(
    folded: str, ws: int, we: int, keys: Sequence[tuple[str, str]]
) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    toks = list(_TOKEN.finditer(folded, ws, we))
    if not toks:
        return out
    # runs of tokens joined by short gaps
    runs: list[list[re.Match[str]]] = [[toks[0]]]
    for a, b in itertools.pairwise(toks):
        if _VALUE_GAP.fullmatch(folded, a.end(), b.start()):
            runs[-1].append(b)
        else:
            runs.append([b])
    for run in runs:
        joined = "".join(t.group(0) for t in run).lower()
        offs: list[int] = []
        n = 0
        for t in run:
            offs.append(n)
            n += t.end() - t.start()
        for kind, key in keys:
            p = joined.find(key)
            while p != -1:
                e = p + len(key)
                i = _bisect_right(offs, p) - 1
                j = _bisect_right(offs, e - 1) - 1
                inside = p - offs[i]
                tok_end = offs[j] + run[j].end() - run[j].start()
                prefix = joined[offs[i] : p]
                starts_ok = inside == 0 or (kind == "phone" and prefix in ("0", "44", "440"))
                if starts_ok and e == tok_end:
                    s = run[i].start()
                    if kind == "phone":
                        pre = _PHONE_PREFIX.search(folded, max(0, s - 12), s)
                        if pre:
                            s = pre.start()
                    out.append((s, run[j].end(), kind))
                p = joined.find(key, p + 1)
    return out


_PHONE_PREFIX = re.compile(r"(?:(?:\+|00)[ \t]?44[ \t]?(?:\([ \t]?0[ \t]?\)[ \t]?)?|\(0?|\+)$")


def _phone_ok(raw: str) -> bool:
    digits = re.sub(r"\D", "", raw)
    s = raw.lstrip("(").strip()
    if s.startswith("+") or s.startswith("00"):
        intl = "+" + (digits[2:] if s.startswith("00") else digits)
        if intl.startswith("+440"):
            intl = "+44" + intl[4:]
        if intl.startswith("+44"):
            return len(intl) - 3 in (9, 10)
        try:
            return phonenumbers.is_possible_number(phonenumbers.parse(intl, None))
        except phonenumbers.NumberParseException:
            return False
    if not digits.startswith("0") or digits.startswith("00"):
        return False
    if re.search(r"\d{1,2}/\d{1,2}/\d{2,4}", raw):
        return False
    return len(digits) in (10, 11)


def _date_of(m: re.Match[str]) -> dt.date | None:
    g = m.groupdict()
    try:
        if g.get("d1"):
            y = int(g["y1"])
            if y < 100:
                y += 1900 if y > 30 else 2000
            return dt.date(y, int(g["m1"]), int(g["d1"]))
        if g.get("y2"):
            return dt.date(int(g["y2"]), int(g["m2"]), int(g["d2"]))
        if g.get("d3"):
            return dt.date(int(g["y3"]), _MONTH_NUM[g["m3"].lower()], int(g["d3"]))
        if g.get("d4"):
            return dt.date(int(g["y4"]), _MONTH_NUM[g["m4"].lower()], int(g["d4"]))
    except ValueError:
        return None
    return None


@lru_cache(maxsize=8192)
def _person_parts(
    first: str, last: str, preferred: str, nick: bool
) -> tuple[tuple[tuple[str, int, int, bool, frozenset[str]], ...], frozenset[str]]:
    """(key, role, word count, ambiguous, its words) for every way a name is written."""
    given = _given_names(Person(first, last, preferred), nick)
    flast = _fold_name(last)
    entries: list[tuple[str, int]] = [(g, GIVEN) for g in given]
    if flast:
        entries.append((flast, LAST))
        hy = [x for x in re.split(r"\s*-\s*", flast) if len(_key(x)) >= 2]
        if len(hy) > 1:
            entries += [(x, PART) for x in hy]
        words = flast.split()
        if len(words) > 1 and len(_key(words[-1])) >= 3:
            entries.append((words[-1], PART))
    out = []
    for name, role in entries:
        k = _key(name)
        if len(k) >= 2:
            words = [w.lower() for w in _TOKEN.findall(name)]
            amb = _is_ambiguous(name.replace("'", ""))
            out.append((k, role, len(words), amb, frozenset(w for w in words if len(w) >= 2)))
    initials = frozenset(g[0].upper() for g in given if g and g[0].isalpha())
    return tuple(out), initials


@lru_cache(maxsize=16384)
def _key_sets(k: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Words to look for, beginnings, and beginnings shorter than the key."""
    words = {k, k + "s"} | {k[i:] for i in range(1, len(k) - 3)}
    return (
        frozenset(words),
        frozenset(k[:i] for i in range(1, len(k) + 1)),
        frozenset(k[:i] for i in range(1, len(k))),
    )


@dataclass(frozen=True)
class _PersonIndex:
    kind: str
    initials: frozenset[str]
    ambiguous: frozenset[str]  # keys that are ordinary words: need a capital


@dataclass(frozen=True)
class Scrubber:
    """Name indexes for one application; call :meth:`scrub` on each answer.

    Building one is cheap (dictionaries, no regular expressions compiled per
    application), so anonymising thousands of applications stays fast.
    """

    identity: Identity
    people: tuple[_PersonIndex, ...]
    index: dict[str, tuple[tuple[int, int], ...]]  # key -> ((person, role), ...)
    max_tokens: int
    words: frozenset[str]  # every lower-case word a name can be written with, to look for
    prefixes: frozenset[str]  # every beginning of a name key ("o", "ob" … "obrien")
    longer: frozenset[str]  # beginnings that are shorter than their key
    addresses: tuple[tuple[str, ...], ...]  # token sequences of the form's address lines
    handles: tuple[str, ...]  # lower-case run-together names (janehill, hilljane …)
    # the form's own values as plain letters and digits, with their kind
    value_keys: tuple[tuple[str, str], ...] = ()
    emails: tuple[str, ...] = ()  # the form's email addresses, lower case
    # the candidate's initials: of the first given name, of middle names, of the surname
    initials: tuple[frozenset[str], frozenset[str], frozenset[str]] = (
        frozenset(),
        frozenset(),
        frozenset(),
    )

    @classmethod
    def build(cls, identity: Identity, *, nicknames: bool = True) -> Scrubber:
        people: list[_PersonIndex] = []
        index: dict[str, list[tuple[int, int]]] = {}
        max_tokens = 1
        anchors: set[str] = set()
        plist = [("own_name", identity.own, nicknames)]
        plist += [("referee", p, False) for p in identity.referees]
        plist += [("other_name", p, False) for p in identity.others]
        words_set: set[str] = set()
        prefixes: set[str] = set()
        longer: set[str] = set()
        for n, (kind, person, nick) in enumerate(plist):
            entries, initials = _person_parts(person.first, person.last, person.preferred, nick)
            amb: set[str] = set()
            for k, role, ntok, ambiguous, kwords in entries:
                index.setdefault(k, [])
                if (n, role) not in index[k]:
                    index[k].append((n, role))
                max_tokens = max(max_tokens, ntok)
                if ambiguous:
                    amb.add(k)
                w, pre, lo = _key_sets(k)
                words_set |= w
                prefixes |= pre
                longer |= lo
                anchors |= kwords
            people.append(_PersonIndex(kind, initials, frozenset(amb)))
        addresses: list[tuple[str, ...]] = []
        if identity.address:
            parts = [p.strip() for p in identity.address.split(",") if p.strip()]
            for i, part in enumerate(parts):
                # every part but a last one-word town ("Flat 4, Mill Court, Leeds")
                if i < len(parts) - 1 or len(part.split()) > 1 or re.search(r"\d", part):
                    toks = tuple(t.lower() for t in _TOKEN.findall(fold(part)[0]))
                    if toks:
                        addresses.append(toks)
        handles: set[str] = set()
        firsts = [_key(g) for g in _given_names(identity.own, nicknames)]
        last_key = _key(identity.own.last)
        if last_key:
            for f in firsts:
                if f:
                    for sep in ("", ".", "_", "-"):
                        handles.update({f + sep + last_key, last_key + sep + f})
                    handles.add(f[0] + last_key)
            if len(last_key) >= 6 and not _is_ambiguous(last_key):
                handles.add(last_key)
        return cls(
            identity,
            tuple(people),
            {k: tuple(v) for k, v in index.items()},
            min(max_tokens + 1, 5),
            frozenset(anchors | words_set),
            frozenset(prefixes),
            frozenset(longer),
            tuple(addresses),
            tuple(sorted(h for h in handles if len(h) >= 5)),
            *_value_keys(identity),
            _own_initials(identity.own),
        )

    # ------------------------------------------------------------------ finding

    def find(self, text: str) -> tuple[list[tuple[int, int, str]], list[int]]:
        """Spans (start, end, kind) in ``text`` to replace, and unsure word positions."""
        folded, idx = fold(text)
        spans: list[tuple[int, int, str]] = []
        unsure_at: list[int] = []
        add = spans.append
        has_digit = _DIGIT.search(folded) is not None

        low = folded.lower()
        # Each pattern is tried only near the character or word it needs.
        for p in _positions(folded, "@"):
            for m in _EMAIL.finditer(folded, max(0, p - 64), p + 256):
                add((m.start(), m.end(), "email"))
            hm = _HANDLE.match(folded, p)
            if hm:
                add((hm.start(), hm.end(), "handle"))
        for b in _AT_BRACKETS:
            for p in _positions(low, b):
                for m in _EMAIL_SPELT.finditer(folded, max(0, p - 80), p + 120):
                    add((m.start(), m.end(), "email"))
        if " dot " in low:
            for p in _positions(low, " at "):
                for m in _EMAIL_WORDS.finditer(folded, max(0, p - 64), p + 120):
                    add((m.start(), m.end(), "email"))
        last_end = -1
        for d in _DOT_WORD.finditer(folded):
            if d.start() < last_end:
                continue
            # the run of non-space characters around the dot: a web address, or not
            ts = folded.rfind(" ", 0, d.start()) + 1
            ts = max(ts, folded.rfind("\n", 0, d.start()) + 1)
            te = _SPACE.search(folded, d.end())
            tend = te.start() if te else len(folded)
            last_end = tend
            for m in _URL.finditer(folded, ts, tend):
                e = m.end()
                while e > m.start() and folded[e - 1] in ".,;:!?)]}'\"":
                    e -= 1
                add((m.start(), e, "web_address"))
        for platform in _PLATFORMS:
            for p in _positions(low, platform):
                hm = _HANDLE_AFTER.match(folded, p)
                if not hm:
                    continue
                h = hm.group("h")
                if h.lower() not in common_words() or re.search(r"[\d_.]", h):
                    s = hm.start("h") - (1 if folded[hm.start("h") - 1] == "@" else 0)
                    add((s, hm.end(), "handle"))
        if has_digit:
            self._find_numbers(folded, add)
            if self.value_keys:
                for s, e, k in find_values(folded, self.value_keys):
                    add((s, e, k))
        for e_ in self.emails:
            for p in _positions(low, e_):
                add((p, p + len(e_), "email"))
        if self.identity.date_of_birth is not None or "born" in low:
            for p in _month_positions(low):
                ws, we = max(0, p - 45), p + 70
                for rx in (_WDATE_DMY, _WDATE_MDY):
                    for dm in rx.finditer(folded, ws, we):
                        self._word_date_found(folded, dm, add)
        for p in _positions(low, "born"):
            bm = _BORN_YEAR.match(folded, p)
            if bm:
                pre = re.match(r"born\s+(?:in\s+|on\s+)?", bm.group(0), re.I)
                add((bm.start() + (pre.end() if pre else 0), bm.end(), "date_of_birth"))
        if self.addresses:
            self._find_addresses(low, folded, add)
        if self.handles:
            self._find_handles(low, folded, add)
        self._find_names(low, folded, add, unsure_at)
        self._find_initials(folded, add)
        caps = set(_CAP_WORD.findall(folded))  # capitalised words, looked at twice
        self._find_other_names(folded, caps, spans, add)
        merged = _merge(spans)
        if idx is not None:
            n = len(text)
            out = []
            for s, e, k in merged:
                os_ = idx[s] if s < len(idx) else n
                oe = idx[e - 1] + 1 if e - 1 < len(idx) else n
                while oe < n and unicodedata.combining(text[oe]):
                    oe += 1
                out.append((os_, oe, k))
            merged = out
            unsure_at = [idx[p] for p in unsure_at if p < len(idx)]
        unsure_at.extend(self._unknown_names(folded, idx, merged, caps))
        return merged, sorted(set(unsure_at))

    def _find_numbers(self, folded: str, add: Any) -> None:
        # Everything here holds a digit: look only near the digits.
        windows: list[list[int]] = []
        for m in _DIGIT_RUN.finditer(folded):
            if m.end() - m.start() == 4:
                mf = _DATE_MONTH_FIRST.search(folded, max(0, m.start() - 25), m.end())
                if mf:
                    self._date_found(folded, mf, add)
            # "Flat 3, 48 Station Road, Thorne" starts 5 before its first digit
            # and ends within 60 after its last; phones, dates, NI numbers and
            # postcodes sit closer still.
            ws, we = max(0, m.start() - 12), m.end() + 60
            if windows and ws <= windows[-1][1]:
                windows[-1][1] = we
            else:
                windows.append([ws, we])
        for ws, we in windows:
            self._numbers_in(folded, min(we, len(folded)), ws, add)

    def _date_found(self, folded: str, m: re.Match[str], add: Any) -> None:
        d = _date_of(m)
        before = folded[max(0, m.start() - 40) : m.start()]
        if d is not None and (d == self.identity.date_of_birth or _BORN_CONTEXT.search(before)):
            add((m.start(), m.end(), "date_of_birth"))

    def _word_date_found(self, folded: str, m: re.Match[str], add: Any) -> None:
        got = _word_date(m)
        if got is None:
            return
        day, month, year, short = got
        dob = self.identity.date_of_birth
        same = dob is not None and (day, month) == (dob.day, dob.month)
        same = (
            same
            and dob is not None
            and (year % 100 if short else year) == (dob.year % 100 if short else dob.year)
        )
        before = folded[max(0, m.start() - 40) : m.start()]
        if same or _BORN_CONTEXT.search(before):
            add((m.start(), m.end(), "date_of_birth"))

    def _numbers_in(self, folded: str, we: int, ws: int, add: Any) -> None:
        for m in _DATE.finditer(folded, ws, we):
            self._date_found(folded, m, add)
        for m in _PHONE.finditer(folded, ws, we):
            raw = m.group(0)
            s, e = m.start(), m.end()
            while e > s and folded[e - 1] in ").-/ ":
                e -= 1
            if _phone_ok(folded[s:e]):
                add((s, e, "phone"))
            elif raw.count(" ") > 2:
                for sub in _PHONE_PIECE.finditer(raw):
                    if _phone_ok(sub.group(0)):
                        add((s + sub.start(), s + sub.end(), "phone"))
        for m in _POSTCODE.finditer(folded, ws, we):
            add((m.start(), m.end(), "postcode"))
        for m in _NI.finditer(folded, ws, we):
            add((m.start(), m.end(), "ni_number"))
        for m in _ADDRESS.finditer(folded, ws, we):
            add((m.start(), m.end(), "address"))

    def _find_addresses(self, low: str, folded: str, add: Any) -> None:
        for seq in self.addresses:
            p = low.find(seq[0])
            while p != -1:
                if p == 0 or not folded[p - 1].isalnum():
                    toks = _tokens_from(folded, p, len(seq))
                    if len(seq) == 1 and seq[0] in common_words() and not folded[p].isupper():
                        pass  # "Orchard" the place, not "an orchard"
                    elif tuple(t[2] for t in toks) == seq and all(
                        _ADDRESS_GAP.fullmatch(folded[toks[j][1] : toks[j + 1][0]])
                        for j in range(len(toks) - 1)
                    ):
                        add((p, toks[-1][1], "address"))
                p = low.find(seq[0], p + 1)

    def _find_handles(self, low: str, folded: str, add: Any) -> None:
        surname = _key(self.identity.own.last)
        if surname and surname not in low:
            return  # every run-together handle holds the surname
        for h in self.handles:
            start = low.find(h)
            while start != -1:
                s, e = start, start + len(h)
                while s > 0 and (folded[s - 1].isalnum() or folded[s - 1] in "_.-@"):
                    s -= 1
                while e < len(folded) and (folded[e].isalnum() or folded[e] in "_.-"):
                    e += 1
                while e > s and folded[e - 1] in ".-":
                    e -= 1
                token = folded[s:e]
                if not _PLAIN_WORDS.fullmatch(token) and not (
                    token.isalpha() and token.lower() in common_words()
                ):
                    add((s, e, "handle"))
                start = low.find(h, e)

    def _find_names(self, low: str, folded: str, add: Any, unsure_at: list[int]) -> None:
        index = self.index
        # Where a name could start: each hit of one of its words, and up to two
        # words before it ("O Brien" is found from "brien").
        starts: set[int] = set()
        prefixes = self.prefixes
        present = self.words.intersection(_TOKEN.findall(low))
        for word in present:
            p = low.find(word)
            while p != -1:
                e = p + len(word)
                if (p == 0 or not low[p - 1].isalnum()) and (e == len(low) or not low[e].isalnum()):
                    starts.add(p)
                    prev = p
                    for _ in range(self.max_tokens - 1):
                        prev = _prev_token_start(folded, prev)
                        if prev < 0:
                            break
                        m = _TOKEN.match(low, prev)
                        if m and m.group(0) in prefixes:
                            starts.add(prev)
                p = low.find(word, e)
        units: list[_Unit] = []
        done = -1
        for st in sorted(starts):
            if st < done:
                continue
            first_tok = _TOKEN.match(low, st)
            if first_tok and first_tok.group(0) not in self.longer:
                # the usual case: a one-word name, nothing longer starts with it
                toks = [(st, first_tok.end(), first_tok.group(0))]
            else:
                toks = _tokens_from(folded, st, self.max_tokens)
            hit = None
            for size in range(len(toks), 0, -1):
                if size > 1 and not all(
                    _JOIN_GAP.fullmatch(folded[toks[j][1] : toks[j + 1][0]])
                    for j in range(size - 1)
                ):
                    continue
                key = "".join(t[2] for t in toks[:size])
                poss = False
                if key not in index and size == 1 and key.endswith("s") and key[:-1] in index:
                    key, poss = key[:-1], True
                if key in index:
                    hit = (size, key, poss)
                    break
            if hit is None:
                continue
            size, key, poss = hit
            cands = index[key]
            person = cands[0][0]
            uend = toks[size - 1][1]
            if (
                (poss and key in self.people[person].ambiguous)
                or (st > 0 and folded[st - 1] in "@#/")
                or _IN_ADDRESS.match(folded, uend)  # martin.clarke@…: the email's, not a name
            ):
                done = toks[size - 1][1]
                continue
            units.append(_Unit(st, toks[size - 1][1], cands, key, poss))
            done = toks[size - 1][1]
        # join neighbouring units of one person into mentions ("Joy Hill", "Hill, Joy")
        j = 0
        while j < len(units):
            first = units[j]
            persons = {p for p, _ in first.cands}
            k = j
            while k + 1 < len(units):
                nxt = units[k + 1]
                shared = persons & {p for p, _ in nxt.cands}
                gap = folded[units[k].end : nxt.start]
                if not shared or not _MENTION_GAP.fullmatch(gap) or gap.startswith("."):
                    break
                if "," in gap and not (
                    k == j
                    and first.role_of(min(shared)) == LAST
                    and nxt.role_of(min(shared)) == GIVEN
                ):
                    break  # "Hill, Joy" is one person; "Joy, Joy" is a list
                persons = shared
                k += 1
            person = min(persons)
            first = _Unit(first.start, first.end, first.cands, first.key, first.poss, person)
            s, e = first.start, units[k].end
            extra = False
            before, bstart = _word_before(folded, s)
            if before:
                bare = before.rstrip(".")
                if bare.lower() in _TITLE_WORDS or (
                    len(bare) == 1
                    and bare in self.people[person].initials
                    and any(u.role_of(person) in (LAST, PART) for u in units[j : k + 1])
                    and folded[first.start].isupper()
                    and (bare != "I" or before.endswith("."))  # "I cook", not "I. Cook"
                ):
                    s, extra = bstart, True
            ok = True
            if k == j and not extra:
                u = first
                if before in ("St", "St."):
                    ok = False  # St John Ambulance, St Helen's: not the person
                elif u.key in _MONTH_NUM and _month_context(folded, u.start, u.end):
                    ok = False  # "3 May 2019", "in May": the month, not Mrs May
                elif u.key in self.people[person].ambiguous:
                    ok, unsure = self._ambiguous_ok(folded, u.start, u.end)
                    if unsure:
                        unsure_at.append(u.start)
            elif not extra:
                words = folded[s:e]
                if (
                    words.islower()
                    and all(u.key in self.people[person].ambiguous for u in units[j : k + 1])
                    and not _NAME_CUE.search(folded[max(0, s - 30) : s])
                ):
                    ok = False  # "will hope", "grant rose": ordinary words
                    unsure_at.append(s)
            if ok:
                kind = self.people[person].kind
                s, e = _whole_name(folded, s, e)
                if kind == "own_name":
                    e = self._initials_after(folded, e)
                add((s, e, kind))
            j = k + 1

    @staticmethod
    def _find_other_names(
        folded: str, caps: Iterable[str], found: Sequence[tuple[int, int, str]], add: Any
    ) -> None:
        """People named only in the answers ("my support worker Shona"): ``[name]``.

        A capitalised word from the list of given names is taken, with a title before
        it and a surname after it; one that is also an ordinary word (Grace, Will) only
        after a cue ("my manager Grace", "called Hope") or before a surname. A place
        reading ("in Florence", "Victoria Station", "St John") is left.
        """
        names, words = given_names(), common_words()
        taken = sorted((s, e) for s, e, _ in found)
        starts = [s for s, _ in taken]

        def covered(p: int) -> bool:
            i = _bisect_right(starts, p) - 1
            return i >= 0 and taken[i][0] <= p < taken[i][1]

        # Where to look: after a title, and at capitalised words that are given names
        # or no ordinary word (those need a role before them); most capitalised words
        # are ordinary ("The", "When") and are settled here by one set test each.
        titles: dict[int, int] = {}
        at: set[int] = set()
        for cap in caps:
            w = cap.split("'")[0]  # "Shona's" -> "Shona"
            low = w.lower()
            if low in _OTHER_TITLES:
                for p in _positions(folded, w):
                    t = _TITLE_AT.match(folded, p)
                    if t and not (p and folded[p - 1].isalpha()):
                        titles[t.end()] = p
                        at.add(t.end())
            elif low in names or (low not in words and low not in _NOT_NAMES):
                for p in _positions(folded, w):
                    if not (p and folded[p - 1].isalnum()):
                        at.add(p)
        for s in sorted(at):
            m = _OTHER_NAME.match(folded, s)
            if not m:
                continue
            low = m.group("w").lower()
            e = m.end("w")
            titled = s in titles
            if covered(s):
                continue  # the candidate, a referee … already
            pre = folded[max(0, s - 40) : s]
            # not a known given name: still a person right after "my sister", "my
            # manager" … ("my sister Sukhvinder")
            role = bool(_ROLE_CUE.search(pre))
            if not titled and low not in names and not role:
                continue
            cue = titled or role or bool(_SIGN_OFF.search(pre))
            sur = _SURNAME_AFTER.match(folded, e)
            nxt = sur.group(1).lower() if sur else ""
            ordinary = low in words or low in _NOT_NAMES
            org_after = nxt in _ORG_WORDS
            surname = bool(nxt) and not org_after and nxt not in _NOT_NAMES
            surname = surname and not (ordinary and nxt in words)
            if not cue:
                if ordinary and not surname:
                    continue
                before, _ = _word_before(folded, s)
                if before in ("St", "St.", "Saint") or before.lower() in _PLACE_BEFORE:
                    continue
                if org_after:
                    continue  # "Victoria Station", "Florence Nightingale Ward"
            start = titles[s] if titled else s
            end = sur.end() if surname and sur is not None else e
            add((start, end, "other_name"))

    def _initials_after(self, folded: str, e: int) -> int:
        """After the candidate's name, their middle or surname initials go too ("Rose K.")."""
        m = _INITIALS_TAIL.match(folded, e)
        if not m:
            return e
        _, middle, last = self.initials
        end = e
        for im in re.finditer(r"[ \t]+([A-Z])(\.?)", m.group(0)):
            letter, dot = im.group(1), im.group(2)
            if letter not in middle | last or (letter in "IA" and not dot):
                break
            end = e + im.end()
        if folded[end - 1 : end] == "." and _SENTENCE_ON.match(folded, end):
            end -= 1
        return end

    def _find_initials(self, folded: str, add: Any) -> None:
        """ "Signed R.K.", "R K", "C J H.": the candidate's initials, not every capital."""
        given, middle, last = self.initials
        if not given or not last:
            return
        firsts = "".join(sorted(c for c in given if "A" <= c <= "Z"))
        if not firsts or not any(
            g + sep in folded for g in firsts for sep in (".", " ", "\t", *middle, *last)
        ):
            return  # no "R.", "R " nor "RK" anywhere: nothing to look at
        for m in _initials_pattern(firsts).finditer(folded):
            raw = m.group(0)
            at = [i for i, c in enumerate(raw) if c.isupper()]
            # the longest run that reads as the initials ("C J H. I think": not the "I")
            for n in range(len(at), 1, -1):
                letters = [raw[i] for i in at[:n]]
                if (
                    letters[0] not in given
                    or letters[-1] not in last
                    or any(c not in middle | last for c in letters[1:-1])
                ):
                    continue
                end = at[n - 1] + 1
                if end < len(raw) and raw[end] == ".":
                    end += 1
                    if _SENTENCE_ON.match(folded, m.start() + end):
                        end -= 1  # the full stop ends the sentence too: keep it
                sub = raw[:end]
                s, e = m.start(), m.start() + end
                dotted = "." in sub.rstrip(".") or sub.count(".") >= 2
                cue = _SIGN_OFF.search(folded, max(0, s - 40), s) or _NAME_CUE.search(
                    folded, max(0, s - 30), s
                )
                spaced = " " in sub or "\t" in sub
                alone = _LINE_ALONE.match(folded, e)
                if dotted or cue or (spaced and (n >= 3 or alone)):
                    add((s, e, "own_name"))
                break

    @staticmethod
    def _ambiguous_ok(folded: str, s: int, e: int) -> tuple[bool, bool]:
        """For a name that is also a word: (take it, flag it for a person)."""
        word = folded[s:e]
        if word.islower():
            return False, False
        if not (word[0].isupper()):
            return False, False
        if _SIGN_OFF.search(folded, max(0, s - 40), s) or _LINE_ALONE.match(folded, e):
            return True, False  # "Kind regards, Dawn", "Best wishes, Rose", a name on its own line
        before, _ = _word_before(folded, s)
        if before in ("the", "The") and _ORG_AFTER.match(folded, e):
            return False, True  # "the King's Fund", "the Rose and Crown"
        if not _sentence_start(folded, s):
            # "Young People's Service", "Castle Hill", "Hill Top": part of a place or
            # an organisation's name, most likely; left for a person to check
            nxt = _NEXT_WORD.match(folded, e)
            if nxt and nxt.group(1)[0].isupper() and nxt.group(1).lower() in common_words():
                return False, True
            before, bstart = _word_before(folded, s)
            if (
                before[:1].isupper()
                and before.lower() in common_words()
                and not _sentence_start(folded, bstart)
            ):
                return False, True
            return True, False
        if len(word) > 1 and word.isupper() and not _SHOUTING.search(folded[e : e + 40]):
            return True, False  # ROSE on a badge, in otherwise ordinary text
        rest = folded[e:]
        if re.match(r"\s*(?:'s\b|'|,|\s[A-Z]|$)", rest):
            return True, False
        nxt = re.match(r"\s+([A-Za-z]+)", rest)
        if nxt and nxt.group(1).lower() in _NAME_FOLLOWERS:
            return True, False
        return False, True

    def _unknown_names(
        self,
        folded: str,
        idx: list[int] | None,
        spans: Sequence[tuple[int, int, str]],
        caps: Iterable[str],
    ) -> list[int]:
        """Capitalised words mid-sentence that are not ordinary words: maybe a name."""
        words = common_words()
        odd = {
            w
            for w in caps
            if (low := w.lower().replace("'", "")) not in _NOT_NAMES
            and low not in words
            and not (low.endswith("s") and low[:-1] in words)
        }
        out: list[int] = []
        for w in sorted(odd):
            for p in _positions(folded, w):
                e = p + len(w)
                if (p > 0 and folded[p - 1].isalnum()) or (e < len(folded) and folded[e].isalnum()):
                    continue
                if _sentence_start(folded, p):
                    continue
                pos = idx[p] if idx is not None else p
                if any(s <= pos < e2 for s, e2, _ in spans):
                    continue
                out.append(pos)
                if len(out) >= 50:
                    return out
        return out

    # ---------------------------------------------------------------- replacing

    def scrub(self, text: str) -> Scrubbed:
        if not text:
            return Scrubbed(text)
        spans, unsure_at = self.find(text)
        counts: Counter[str] = Counter()
        pieces: list[str] = []
        last = 0
        label = self.identity.label
        for s, e, kind in spans:
            pieces.append(text[last:s])
            rep = KINDS[kind][0] or label
            if kind == "own_name" and rep.startswith("the ") and _sentence_start(text, s):
                rep = rep[0].upper() + rep[1:]
            pieces.append(rep)
            counts[kind] += 1
            last = e
        pieces.append(text[last:])
        out = _collapse("".join(pieces), label)
        return Scrubbed(out, counts, _word_positions(text, unsure_at))


def _sentence_start(text: str, pos: int) -> bool:
    i = pos - 1
    while i >= 0 and text[i] in " \t\"'“‘([":
        i -= 1
    return i < 0 or text[i] in ".!?\n\r:"


def _merge(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Union of overlapping spans; the longest find names the kind."""
    if not spans:
        return []
    spans.sort(key=lambda t: (t[0], -(t[1] - t[0]), _PRIORITY[t[2]]))
    out: list[tuple[int, int, str]] = []
    best: dict[int, tuple[int, int]] = {}
    for s, e, k in spans:
        if out and s < out[-1][1]:
            ps, pe, pk = out[-1]
            length, prio = best[len(out) - 1]
            if (e - s, -_PRIORITY[k]) > (length, -prio):
                pk = k
                best[len(out) - 1] = (e - s, _PRIORITY[k])
            out[-1] = (ps, max(pe, e), pk)
        else:
            out.append((s, e, k))
            best[len(out) - 1] = (e - s, _PRIORITY[k])
    return out


_REPEAT_LETTER = re.compile(
    r"(?P<first>Candidate (?P<l>[A-Z]{1,3}))"
    r"(?:(?:'s)?(?:\s*\(\s*Candidate (?P=l)\s*\)|\s*[\"\u201c\u2018']Candidate (?P=l)"
    r"[\"\u201d\u2019']|[\s\-/]+Candidate (?P=l)))+(?![A-Za-z])"
)
_REPEAT_THE = re.compile(
    r"(?P<first>the candidate)(?:(?:'s)?(?:\s*\(\s*the candidate\s*\)"
    r"|\s*[\"\u201c\u2018']the candidate[\"\u201d\u2019']|[\s\-/]+the candidate))+",
    re.I,
)
_REPEAT_PLACEHOLDER = re.compile(r"(\[[a-zA-Z ]+\])(?:[\s\-/]+\1)+")


def _collapse(text: str, label: str) -> str:
    """Never "Candidate A Candidate A" (nor "[email] [email]")."""
    if "andidate" in text:
        rx = _REPEAT_THE if label.lower() == "the candidate" else _REPEAT_LETTER
        text = rx.sub(lambda m: m.group("first"), text)
    if "[" in text:
        text = _REPEAT_PLACEHOLDER.sub(r"\1", text)
    return text


def _word_positions(text: str, positions: Iterable[int]) -> list[int]:
    pos = sorted(set(positions))
    if not pos:
        return []
    starts = [m.start() for m in _WORD.finditer(text)]
    out = []
    j = 0
    for p in pos:
        while j + 1 < len(starts) and starts[j + 1] <= p:
            j += 1
        out.append(j + 1)
    return sorted(set(out))
