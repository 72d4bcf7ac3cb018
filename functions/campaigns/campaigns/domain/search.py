"""Search words: the normalised words of a campaign's title and description, kept as index entries.

Words are lower-cased, stripped of accents and split on anything that is not a letter or digit;
one-letter words and a few stop words are dropped. Title words come first, and at most MAX_WORDS
are indexed so that a campaign and all its entries always fit in one transaction.
"""

from __future__ import annotations

import re
import unicodedata

MAX_WORDS = 40
MAX_WORD_LENGTH = 40
MAX_QUERY_WORDS = 5
_SPLIT = re.compile(r"[^\w]+|_")
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "he",
        "her",
        "his",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "she",
        "that",
        "the",
        "their",
        "this",
        "to",
        "was",
        "we",
        "were",
        "will",
        "with",
        "you",
        "your",
    ]
)


def words(text: str) -> list[str]:
    """Distinct searchable words of `text`, in order of first appearance."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in folded if not unicodedata.combining(char))
    seen: dict[str, None] = {}
    for word in _SPLIT.split(plain):
        if len(word) >= 2 and word not in STOP_WORDS:
            seen.setdefault(word[:MAX_WORD_LENGTH], None)
    return list(seen)


def campaign_words(title: str, description: str) -> list[str]:
    """The words a campaign is found by: title words first, then description words, capped."""
    merged = dict.fromkeys(words(title) + words(description))
    return list(merged)[:MAX_WORDS]


def query_words(query: str) -> list[str]:
    """A search query's words, the most selective first (longer words are rarer, on the whole)."""
    return sorted(words(query), key=len, reverse=True)[:MAX_QUERY_WORDS]
