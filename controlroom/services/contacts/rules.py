"""Emergency-content detection for non-emergency channels (resources/emergency_rules.yaml).

Rules only flag a contact for a human (priority 1 + needs_review); they never grade or create anything.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ...kernel import config


@dataclass(frozen=True)
class Rule:
    name: str
    regex: re.Pattern[str]


@functools.cache
def rules() -> tuple[Rule, ...]:
    """Compiled once per process: phrases become whole-word, whitespace-tolerant patterns."""
    doc = config.load_resource("emergency_rules")
    out: list[Rule] = []
    for phrase in doc.get("phrases") or []:
        words = [re.escape(w) for w in str(phrase).split()]
        out.append(Rule(f'phrase "{phrase}"', re.compile(r"\b" + r"\s+".join(words) + r"\b", re.I)))
    for p in doc.get("patterns") or []:
        out.append(Rule(f"pattern {p['name']}", re.compile(p["regex"], re.I | re.S)))
    return tuple(out)


def _normalise(text: str) -> str:
    # Curly apostrophes and runs of punctuation in SMS/webchat must not hide a phrase.
    return re.sub(r"[\u2019'`]", "", text)


def scan(text: str | None) -> list[str]:
    """Names of the rules the text matches (empty when none)."""
    if not text:
        return []
    t = _normalise(text)
    return [r.name for r in rules() if r.regex.search(t)]
