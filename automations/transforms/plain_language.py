"""A plain-language check: sentence length, reading ease and jargon. Reported, never enforced.

The reading ease is Flesch's (206.835 - 1.015 x words per sentence - 84.6 x
syllables per word; 60 and above reads easily for most adults), with a simple
syllable count that is right for most English words. It is a prompt to look
again, not a verdict: a short question with one long word can score low and still
be clear. Jargon comes from the ``jargon`` list in ``organisation.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

LONG_SENTENCE = 20  # words
EASY_ENOUGH = 60.0  # Flesch reading ease

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n\s*\n|\n(?=\s*(?:[-*]|\d+\.)\s)")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_VOWELS = re.compile(r"[aeiouy]+")
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_TAG = re.compile(r"<style.*?</style>|<script.*?</script>|<[^>]+>", re.S | re.I)
_BLOCK = re.compile(
    r"</?(?:h[1-6]|p|li|ul|ol|tr|td|th|div|section|dt|dd|br|caption|title|table)\b[^>]*>", re.I
)
_URL = re.compile(r"https?://\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass
class Finding:
    where: str
    words: int
    sentences: int
    reading_ease: float
    long_sentences: list[str] = field(default_factory=list)
    jargon: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.long_sentences and not self.jargon and self.reading_ease >= EASY_ENOUGH

    def lines(self) -> list[str]:
        out = [
            f"{self.where}: reading ease {self.reading_ease:.0f}"
            + ("" if self.reading_ease >= EASY_ENOUGH else " (may be hard to read)")
        ]
        for s in self.long_sentences:
            out.append(f"  long sentence ({len(_WORD.findall(s))} words): {s[:120]}")
        if self.jargon:
            out.append(f"  jargon: {', '.join(self.jargon)}")
        return out


def syllables(word: str) -> int:
    w = word.lower().strip("'’-")
    if len(w) <= 3:
        return 1
    w = re.sub(r"(?:[^laeiouy]es|ed|[^laeiouy]e)$", "", w)
    w = re.sub(r"^y", "", w)
    return max(1, len(_VOWELS.findall(w)))


def sentences(text: str) -> list[str]:
    parts = [p.strip(" \t\n-*") for p in _SENTENCE_END.split(text)]
    return [re.sub(r"\s+", " ", p) for p in parts if _WORD.search(p or "")]


def reading_ease(text: str) -> float:
    sents = sentences(text)
    words = _WORD.findall(text)
    if not words or not sents:
        return 100.0
    syl = sum(syllables(w) for w in words)
    score = 206.835 - 1.015 * (len(words) / len(sents)) - 84.6 * (syl / len(words))
    return round(max(0.0, min(100.0, score)), 1)


def find_jargon(text: str, jargon: Iterable[str]) -> list[str]:
    low = text.casefold()
    out = []
    for j in jargon:
        term = j.strip()
        if term and re.search(rf"(?<![\w-]){re.escape(term.casefold())}(?![\w-])", low):
            out.append(term)
    return out


def check_text(
    where: str, text: str, jargon: Sequence[str] = (), max_words: int = LONG_SENTENCE
) -> Finding:
    clean = _URL.sub("link", text)
    sents = sentences(clean)
    return Finding(
        where=where,
        words=len(_WORD.findall(clean)),
        sentences=len(sents),
        reading_ease=reading_ease(clean),
        long_sentences=[s for s in sents if len(_WORD.findall(s)) > max_words],
        jargon=find_jargon(clean, jargon),
    )


_SET_WORDS = re.compile(r"\{%-?\s*set\s+\w+\s*=\s*\"([^\"]*)\"\s*-?%\}")


def template_text(source: str) -> str:
    """What a person reads in a template: Jinja tags out (values as one short word), HTML out."""
    # words kept in a template's {% set name = "..." %} (the form pages' words) are read too
    said = _SET_WORDS.findall(source)
    text = _JINJA.sub(lambda m: "it" if m.group(0).startswith("{{") else "", source)
    if said:
        text += "\n\n" + "\n\n".join(w.replace("\\n", "\n") for w in said)
    text = re.sub(r"<style.*?</style>|<script.*?</script>", " ", text, flags=re.S | re.I)
    text = _BLOCK.sub("\n\n", text)
    text = _TAG.sub(" ", text)
    text = re.sub(r"^Subject:\s*", "", text, flags=re.M)
    text = re.sub(r"^-{3,}\s*$", "", text, flags=re.M)
    return text.replace("&nbsp;", " ")
