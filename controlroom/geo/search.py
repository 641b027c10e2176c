"""Location search as the call handler types: one SQL statement, ranked in tiers.

Tiers, best first: a postcode typed in full (its centroid, then the properties at it); a partial
postcode; a house number on a street ("12 Midsummer Boulevard"); places, streets (with their
town) and landmarks whose words start with what was typed; typo-tolerant names (pg_trgm) when the
word prefixes found too little; building names of properties.

Every branch is an index probe with a LIMIT (btree on the postcode and on whole-name prefixes,
GIN full-text on the gazetteer and on building names), so the cost does not grow with the number of
addresses: see tests/perf/test_gazetteer_perf.py (1.5 M addresses). The typo-tolerant branch
(pg_trgm) runs only when nothing matched as typed: gated inside the same statement, so it costs
nothing when the call handler types a name correctly.
"""
from __future__ import annotations

import re
from typing import Any

from .formats import looks_like_postcode_prefix, normalise_postcode, postcode_key

_WORD = re.compile(r"[0-9a-z]+")
_NUMBERED = re.compile(r"^\s*(\d{1,5}[a-z]?)\s*,?\s+(.*\S)\s*$", re.I)

_TOP = "\U0010FFFF"  # sorts after every other character (bytewise, as text_pattern_ops compares)
_COLS = "tier, kind, name, lat, lon, area_code, uprn, postcode, ref, score, pos"
_KIND_RANK = "CASE kind WHEN 'place' THEN 0 WHEN 'street' THEN 1 WHEN 'landmark' THEN 2 ELSE 3 END"
_G_LABEL = ("CASE WHEN kind = 'street' AND town IS NOT NULL THEN name || ', ' || town "
            "WHEN kind = 'place' AND county IS NOT NULL AND source <> 'demo' THEN name || ', ' || county "
            "ELSE name END")
_G_REF = "kind || ':' || lower(name) || coalesce('|' || lower(town), '')"

POSTCODE_SQL = """
(SELECT 0 AS tier, 'postcode'::text AS kind, postcode AS name, lat, lon, area_code, NULL::bigint AS uprn,
        postcode, 'postcode:' || postcode AS ref, 1.0::float8 AS score, 0::bigint AS pos
 FROM postcodes WHERE postcode_key = :pc_key)
UNION ALL
(SELECT 1, 'address', label, lat, lon, area_code, uprn, postcode, NULL, 1.0,
        row_number() OVER (ORDER BY street, nullif(regexp_replace(building_number, '[^0-9]', '', 'g'), '')::int
                           NULLS LAST, label)
 FROM addresses WHERE postcode_key = :pc_key ORDER BY 11 LIMIT :limit)
"""

POSTCODE_PREFIX_SQL = """
(SELECT 2, 'postcode', postcode, lat, lon, area_code, NULL::bigint, postcode, 'postcode:' || postcode, 0.9::float8, 0
 FROM postcodes WHERE postcode_key ~>=~ :pc_lo AND postcode_key ~<~ :pc_hi
 ORDER BY postcode_key USING ~<~ LIMIT :limit)
"""

NUMBERED_SQL = """
(SELECT 3, 'address', a.label, a.lat, a.lon, a.area_code, a.uprn, a.postcode, NULL, 1.0::float8, 0
 FROM (SELECT lower(name) || '|' || lower(coalesce(town, '')) AS sk FROM gazetteer
       WHERE kind = 'street' AND search @@ to_tsquery('simple', :rest_tsq)
       ORDER BY length(name) LIMIT 5) s
 JOIN addresses a ON a.street_key = s.sk AND upper(a.building_number) = upper(:num)
 ORDER BY a.label LIMIT :limit)
"""

NAMES_SQL = f"""
(SELECT CASE WHEN lower(name) = :ql THEN 4 WHEN lower(name) LIKE :prefix THEN 5 ELSE 6 END, kind,
        {_G_LABEL}, lat, lon, area_code, NULL::bigint, postcode, {_G_REF}, 1.0::float8, 0
 FROM gazetteer WHERE search @@ to_tsquery('simple', :tsq)
 ORDER BY 1, {_KIND_RANK}, length(name), name LIMIT :limit)
"""

# Whole-name prefix on the text_pattern_ops btree. A prefix range (~>=~ / ~<~), not LIKE: the
# statement is prepared, and after five runs PostgreSQL may switch to a generic plan, in which a
# LIKE with a parameter cannot use the index (measured: 1 ms -> 40-120 ms per keystroke).
SHORT_SQL = f"""
(SELECT CASE WHEN lower(name) = :ql THEN 4 ELSE 5 END, kind, {_G_LABEL}, lat, lon, area_code,
        NULL::bigint, postcode, {_G_REF}, 1.0::float8, 0
 FROM gazetteer WHERE lower(name) ~>=~ :lo AND lower(name) ~<~ :hi ORDER BY lower(name) USING ~<~ LIMIT :limit)
"""

FUZZY_SQL = f"""
(SELECT 7, kind, {_G_LABEL}, lat, lon, area_code, NULL::bigint, postcode, {_G_REF},
        (word_similarity(:q, name) + similarity(:q, name))::float8 / 2, 0
 FROM gazetteer WHERE :q <% name
 ORDER BY word_similarity(:q, name) + similarity(:q, name) DESC, {_KIND_RANK}, length(name) LIMIT :limit)
"""

BUILDING_SQL = """
(SELECT 8, 'address', label, lat, lon, area_code, uprn, postcode, NULL, 1.0::float8, 0
 FROM addresses WHERE building_name IS NOT NULL
   AND to_tsvector('simple', building_name) @@ to_tsquery('simple', :tsq)
 ORDER BY length(building_name), label LIMIT :limit)
"""


def tsquery(words: list[str]) -> str | None:
    """'midsummer boul' -> 'midsummer:* & boul:*' (every word a prefix, all required)."""
    return " & ".join(f"{w}:*" for w in words) or None


def build(q: str, limit: int) -> tuple[str, dict[str, Any]]:
    """(SQL, params) of the one statement that answers the typed text `q`."""
    ql = q.strip().lower()
    words = _WORD.findall(ql)
    params: dict[str, Any] = {"q": q.strip(), "ql": ql, "limit": limit,
                              "prefix": _like_escape(ql) + "%", "lo": ql, "hi": ql + _TOP}
    parts: list[str] = []
    pc = normalise_postcode(q)
    if pc:
        parts.append(POSTCODE_SQL)
        params["pc_key"] = postcode_key(pc)
    elif looks_like_postcode_prefix(q):
        parts.append(POSTCODE_PREFIX_SQL)
        params["pc_lo"], params["pc_hi"] = postcode_key(q), postcode_key(q) + _TOP
    m = _NUMBERED.match(q)
    if m and not pc:
        rest = tsquery(_WORD.findall(m.group(2).lower()))
        if rest:
            parts.append(NUMBERED_SQL)
            params.update(num=m.group(1), rest_tsq=rest)
    # Stage 1 (always): postcode, house number + street, whole-name prefix (btree, LIMIT).
    # Stage 2 (only if stage 1 found fewer than asked): word prefixes anywhere in a name or its
    # town (GIN full-text), building names (GIN full-text). Stage 3 (only if nothing matched as
    # typed): typo-tolerant names (pg_trgm). Each later stage is gated on the count of the earlier ones
    # inside the same statement: a one-time filter, so a skipped stage costs nothing.
    parts.append(SHORT_SQL)
    stage2, stage3 = [], []
    if words and len(ql) >= 3:
        params["tsq"] = tsquery(words)
        stage2.append(NAMES_SQL)
        if not pc:
            stage2.append(BUILDING_SQL)
    if words and len(ql) >= 4:
        stage3.append(FUZZY_SQL)
    cols = _COLS

    def stage(branches: list[str], gate: str) -> str:
        return "\nUNION ALL\n".join(f"SELECT * FROM {b.strip()} b{i}({cols}) WHERE {gate}"
                                     for i, b in enumerate(branches))

    exact = "\nUNION ALL\n".join(parts)
    sql = f"WITH s1 AS MATERIALIZED (SELECT * FROM ({exact}) e({cols}))"
    union = "SELECT * FROM s1"
    if stage2:
        sql += f", s2 AS MATERIALIZED ({stage(stage2, '(SELECT count(*) FROM s1) < :limit')})"
        union += " UNION ALL SELECT * FROM s2"
    if stage3:
        # typos only when nothing matched as typed ('Wolverton' must not bring 'Calverton')
        gate = "NOT EXISTS (SELECT 1 FROM s1)" + (" AND NOT EXISTS (SELECT 1 FROM s2)" if stage2 else "")
        sql += f", s3 AS MATERIALIZED ({stage(stage3, gate)})"
        union += " UNION ALL SELECT * FROM s3"
    # One row per thing found, in its best tier (a name found by prefix is not repeated by the
    # fuzzy branch; a street both OS Open Names and the address file list appears once).
    sql += (f" SELECT {cols} FROM (SELECT DISTINCT ON (kind, name, uprn) {cols} FROM ({union}) x "
            f"ORDER BY kind, name, uprn, tier, score DESC) y "
            f"ORDER BY tier, pos, score DESC, {_KIND_RANK}, length(name), name LIMIT :limit")
    return sql, params


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


STATUS_SQL = """
SELECT (SELECT count(*) FROM gazetteer) AS names,
       (SELECT count(*) FROM gazetteer WHERE kind = 'street') AS streets,
       (SELECT reltuples::bigint FROM pg_class WHERE oid = 'addresses'::regclass) AS addresses_estimate,
       EXISTS (SELECT 1 FROM addresses) AS has_addresses,
       (SELECT count(*) FROM postcodes) AS postcodes
"""
