"""Hostile inputs for service calls: nasty text, bad numbers, wrong types, unknown codes, bad ids."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

# Text an operator, a paste buffer or another system really can produce.
NASTY_TEXT = (
    "", " ", "\t", "\n", "\r\n", "\x00", "a\x00b", "\x00" * 10, "\x1b[31mred\x1b[0m", "\x7f", "\x08\x0c",
    "\u2028line\u2029", "\u200b", "\ufeff", "\u202eevil\u202c", "\u061c\u200f",
    "مرحبا بالعالم", "שלום עולם", "\u202bRTL \u0645\u0631\u062d\u0628\u0627\u202c",
    "👮‍♀️🚓🚨", "🏳️‍🌈" * 50, "Z̷̧̛a̴l̶g̵o̸", "ﬁ", "İstanbul", "ß",
    "'; DROP TABLE incidents; --", "Robert'); DROP TABLE students;--", "1 OR 1=1", "' OR ''='",
    "%s", "%(i)s", ":id", "$1", "\\", "\\x00", "E'\\\\'", "NULL", "null", "None", "nan", "inf",
    "0", "-1", "1e309", "G1", "g1", " G1 ", "TV-20240101-00001", "<script>alert(1)</script>",
    "${jndi:ldap://x/a}", "{{7*7}}", "../../etc/passwd", "\ud800", "a\udfffb",
    "x" * 100_000, "é" * 100_000, "😀" * 30_000, "a\n" * 5_000,
)


def nasty_text() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=60),
                     st.text(st.characters(codec="utf-8"), max_size=300),
                     st.text(st.characters(min_codepoint=0, max_codepoint=0x1f), min_size=1, max_size=5))


BAD_NUMBERS = (0, -1, -2**63, 2**63, 2**64, 10**30, -10**30, 2**31, float("nan"), float("inf"),
               float("-inf"), -0.0, 1e308, 5e-324, 91.0, -181.0, 360.0)


def bad_number() -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(BAD_NUMBERS), st.integers(), st.floats(allow_nan=True,
                                                                           allow_infinity=True))


def wrong_type() -> st.SearchStrategy[Any]:
    """Values of a type no caller should pass: None, bools, containers, bytes, objects."""
    return st.one_of(st.none(), st.booleans(), st.binary(max_size=20), st.just(b"\x00"),
                     st.lists(st.integers(), max_size=3), st.lists(st.text(max_size=5), max_size=3),
                     st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
                     st.just(()), st.just(set()), st.just(object()), st.just(1.5), st.just(3 + 4j),
                     st.just(datetime(2024, 1, 1)), st.just(Ellipsis))


def junk() -> st.SearchStrategy[Any]:
    """Anything at all a buggy caller might pass."""
    return st.one_of(nasty_text(), bad_number(), wrong_type())


def bad_id() -> st.SearchStrategy[Any]:
    """Ids that do not exist or are not ids."""
    return st.one_of(st.sampled_from((0, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 10**40, 999_999)),
                     st.integers(), junk())


def mix(valid: st.SearchStrategy[Any], bad: st.SearchStrategy[Any] | None = None,
        *, bad_pct: int = 25) -> st.SearchStrategy[Any]:
    """Mostly `valid` (so calls get deep enough to touch the database), sometimes `bad`."""
    bad = junk() if bad is None else bad
    return st.integers(0, 99).flatmap(lambda r: bad if r < bad_pct else valid)


def maybe_none(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), s)


def plain_text(max_size: int = 80) -> st.SearchStrategy[str]:
    """Ordinary operator text (what a valid call carries)."""
    return st.text(st.characters(codec="utf-8", categories=("L", "N", "Zs", "P")), min_size=1,
                   max_size=max_size).filter(lambda s: s.strip())


def text_arg(max_size: int = 80) -> st.SearchStrategy[Any]:
    return mix(plain_text(max_size), st.one_of(nasty_text(), wrong_type()), bad_pct=40)


def aware_time() -> st.SearchStrategy[Any]:
    now = datetime.now(timezone.utc)
    good = st.integers(-3600, 60).map(lambda s: now + timedelta(seconds=s))
    bad = st.one_of(st.just(datetime(2024, 1, 1)), st.just(datetime.min.replace(tzinfo=timezone.utc)),
                    st.just(datetime.max.replace(tzinfo=timezone.utc)),
                    st.just(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))),
                    st.just(datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-12)))),
                    junk())
    return mix(good, bad, bad_pct=40)


# Inside the demo force (MK / Oxford / Reading) and around it.
FORCE_POINTS = ((52.0406, -0.7594), (51.7520, -1.2577), (51.4550, -0.9690), (51.62, -0.75))


def coordinates() -> st.SearchStrategy[tuple[Any, Any]]:
    inside = st.tuples(st.sampled_from(FORCE_POINTS), st.floats(-0.01, 0.01), st.floats(-0.01, 0.01)) \
        .map(lambda t: (t[0][0] + t[1], t[0][1] + t[2]))
    outside = st.sampled_from(((51.5072, -0.1276), (0.0, 0.0), (90.0, 180.0), (-90.0, -180.0)))
    weird = st.tuples(st.one_of(bad_number(), wrong_type(), nasty_text()),
                      st.one_of(bad_number(), wrong_type(), st.floats(-1.3, -0.5)))
    return st.integers(0, 99).flatmap(lambda r: weird if r < 30 else outside if r < 40 else inside)
