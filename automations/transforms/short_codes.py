"""Short codes for form links that are read out, posted or typed in by hand. Pure: no I/O.

A personal form link is about 170 characters: nobody can read that out on the phone or
type it from a letter. So each local form link also has a short code, 8 characters from
an alphabet with no 0, O, 1 or I (nothing to confuse), grouped in fours ("KD4Q-7XMP").
The form server turns a code into the person's own signed link (``/c/<code>``, or the
box on its front page). A code is drawn from the link's secret-keyed digest, so it says
nothing about whose form it is, and 32^8 (about 10^12) codes with a few wrong tries an
hour allowed make guessing one hopeless. This module holds the alphabet and the words;
making, storing and checking codes is the form server's.
"""

from __future__ import annotations

from urllib.parse import urlsplit

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32: no 0, O, 1 or I
LENGTH = 8
GROUP = 4

# Said aloud, a letter with a word that starts with it; a number as "number 4".
SPOKEN = {
    "A": "apple",
    "B": "bus",
    "C": "cat",
    "D": "dog",
    "E": "egg",
    "F": "fish",
    "G": "goat",
    "H": "hat",
    "J": "jam",
    "K": "kite",
    "L": "lion",
    "M": "moon",
    "N": "nut",
    "P": "pen",
    "Q": "queen",
    "R": "rain",
    "S": "sun",
    "T": "tree",
    "U": "umbrella",
    "V": "van",
    "W": "window",
    "X": "x-ray",
    "Y": "yellow",
    "Z": "zebra",
}


def code_from(digest: bytes) -> str:
    """The code for a digest (its first 40 bits, 5 bits a character)."""
    if len(digest) < 5:
        raise ValueError("a short code needs at least 5 bytes")
    n = int.from_bytes(digest[:5], "big")
    return "".join(ALPHABET[(n >> (5 * k)) & 31] for k in reversed(range(LENGTH)))


def grouped(code: str) -> str:
    """'KD4Q7XMP' -> 'KD4Q-7XMP', as letters show it and people type it."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def normalise(typed: str) -> str:
    """What a person typed as a code ('kd4q 7xmp', 'KD4Q-7XMP'): upper case, spaces and
    dashes taken out. '' when it cannot be a code (the wrong length, or a character no
    code has), so it is refused without looking anything up."""
    text = "".join(c for c in typed.upper() if c not in " -_.\t\r\n")
    if len(text) != LENGTH or any(c not in ALPHABET for c in text):
        return ""
    return text


def spoken(code: str) -> str:
    """The code in words, to read out: 'K for kite, D for dog, number 4, Q for queen,
    then 7 …'. Grouped as the letter shows it."""
    parts: list[str] = []
    for i, c in enumerate(code.replace("-", "")):
        word = f"number {c}" if c.isdigit() else f"{c} for {SPOKEN[c]}"
        parts.append(("then " if i and i % GROUP == 0 else "") + word)
    return ", ".join(parts)


def address_words(base_url: str) -> str:
    """The form server's address as people type it: no 'https://', no trailing slash."""
    parts = urlsplit(base_url)
    host = parts.netloc or parts.path
    path = parts.path if parts.netloc else ""
    return (host + path).rstrip("/")


__all__ = ["ALPHABET", "LENGTH", "address_words", "code_from", "grouped", "normalise", "spoken"]
