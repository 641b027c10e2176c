"""The fuzz property: success, or a ControlRoomError with a readable message and no trace in the DB."""
from __future__ import annotations

import re
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import psycopg
from psycopg import sql

from controlroom.errors import ControlRoomError, NotPermitted
from controlroom.session import Session

# Text that means an internal error reached the operator instead of a sentence written for them.
NOISE = re.compile(r"Traceback|psycopg|sqlalchemy|<class |object at 0x|Background on this error|"
                   r"\bSQL:|DETAIL:|CONTEXT:|HINT:|Error\(|Exception\(|\bNone\b is not|"
                   r"unsupported operand|has no attribute|not subscriptable|takes \d+ positional",
                   re.IGNORECASE)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")
MAX_MESSAGE = 1_500  # a message the operator can read in a dialog, not a 100 kB echo

# Rows written by something other than the call under test (telemetry tables are still counted).
# consoles: presence/heartbeat threads of the open sessions touch last_seen in the background.
# events: compared by its tail below (minus background telemetry); audit_log: by its tail too.
# event_head: the ordering row (seq, audit id, chain head) moves with every audit row, refusals included
# (room_presence: the sessions' heartbeats flip a room's staffed state whenever a beat is late;
# cr_requests: each API call's request id and outcome, kept for in-doubt resolution — a refusal the
# database files and returns, e.g. a sign-off decided by its own requester, is such an outcome)
SKIP_TABLES = {"audit_log", "alembic_version", "consoles", "events", "event_head", "room_presence",
               "cr_requests"}
# Unaudited telemetry the sessions' own background threads emit while a call runs.
BACKGROUND_KINDS = ("console.presence", "console.heartbeat")


@dataclass
class Snapshot:
    counts: dict[str, int]
    digests: dict[str, str]
    max_seq: int
    max_audit: int


@dataclass
class Probe:
    """Reads the whole database state cheaply enough to compare before/after every call."""

    url: str
    conn: psycopg.Connection = field(init=False)
    query: sql.Composed = field(init=False)
    tables: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.conn = psycopg.connect(self.url, autocommit=True)
        self.tables = [r[0] for r in self.conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
            if r[0] not in SKIP_TABLES]
        # Row count plus an order-independent digest of every row: catches committed UPDATEs too.
        self.query = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {name}, count(*), coalesce(md5(string_agg(md5(t::text), '' "
                    "ORDER BY md5(t::text))), '') FROM {tbl} t").format(
                name=sql.Literal(t), tbl=sql.Identifier(t)) for t in self.tables)

    def snapshot(self) -> Snapshot:
        rows = self.conn.execute(self.query).fetchall()
        seq = self.conn.execute("SELECT coalesce(max(seq), 0) FROM events WHERE kind <> ALL(%s)",
                                (list(BACKGROUND_KINDS),)).fetchone()[0]
        aud = self.conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]
        return Snapshot({r[0]: r[1] for r in rows}, {r[0]: r[2] for r in rows}, seq, aud)

    def audit_since(self, after_id: int) -> list[tuple[int, str, str]]:
        return self.conn.execute("SELECT id, action, outcome FROM audit_log WHERE id > %s ORDER BY id",
                                 (after_id,)).fetchall()

    def scalar_list(self, query: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return [r[0] for r in self.conn.execute(query, params)]

    def close(self) -> None:
        self.conn.close()


@dataclass
class World:
    """Sessions of several roles on one module database, plus the probe."""

    probe: Probe
    sessions: dict[str, Session]

    def ids(self, query: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return self.probe.scalar_list(query, params)


def describe(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    def short(v: Any) -> str:
        r = repr(v)
        return r if len(r) <= 80 else r[:60] + f"...<{len(r)} chars>"
    parts = [short(a) for a in args] + [f"{k}={short(v)}" for k, v in kwargs.items()]
    return f"{getattr(fn, '__qualname__', fn)}({', '.join(parts)})"


def check_message(exc: ControlRoomError, call: str) -> None:
    msg = str(exc)
    assert msg.strip(), f"{call}: {type(exc).__name__} with an empty message"
    assert not NOISE.search(msg), f"{call}: internal detail in the operator message: {msg[:500]!r}"
    assert not CONTROL.search(msg), f"{call}: control characters in the operator message: {msg[:300]!r}"
    assert len(msg) <= MAX_MESSAGE, f"{call}: message of {len(msg):,} characters: {msg[:200]!r}..."


# By design (issue 14) a call handler's G1/G2 downgrade files a supervisor sign-off request in its
# own transaction and then refuses the downgrade itself; only those rows may appear.
# (a filed sign-off also raises the supervisors' "downgrade needs a sign-off" alert)
SIGNOFF_FILED = ("sign-off has been requested", {"grade_signoffs", "incident_log", "events", "alerts"},
                 "signoff.requested")


def check_unchanged(probe: Probe, before: Snapshot, exc: ControlRoomError, call: str) -> None:
    after = probe.snapshot()
    allowed: set[str] = set()
    if isinstance(exc, NotPermitted) and SIGNOFF_FILED[0] in str(exc):
        allowed = SIGNOFF_FILED[1]
    changed = [f"{t}: {before.counts[t]} -> {after.counts.get(t)} rows"
               + ("" if before.counts[t] != after.counts.get(t) else " (same count, content changed)")
               for t in before.digests if before.digests[t] != after.digests.get(t) and t not in allowed]
    assert not changed, f"{call} failed ({type(exc).__name__}: {str(exc)[:200]}) but changed: {changed}"
    assert after.max_seq == before.max_seq or "events" in allowed, \
        f"{call} failed ({type(exc).__name__}) but events grew {before.max_seq} -> {after.max_seq}"
    added = probe.audit_since(before.max_audit)
    not_refusals = [a for a in added if a[2] != "refused" and not (allowed and a[1] == SIGNOFF_FILED[2])]
    assert not not_refusals, f"{call} failed ({type(exc).__name__}) but audited {not_refusals}"
    if isinstance(exc, NotPermitted) and "database refused" not in str(exc):
        assert added, f"{call}: refusal not audited ({str(exc)[:200]})"


def check_call(world: World, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call fn; assert the property; return the result or the ControlRoomError raised."""
    call = describe(fn, args, kwargs)
    before = world.probe.snapshot()
    try:
        return fn(*args, **kwargs)
    except ControlRoomError as exc:
        check_message(exc, call)
        check_unchanged(world.probe, before, exc, call)
        return exc
    except Exception as exc:  # the property: nothing else may escape a service call
        tb = "".join(traceback.format_exception(exc)[-6:])
        raise AssertionError(f"{call} leaked {type(exc).__name__}: {str(exc)[:300]}\n{tb}") from exc


def session_for(data: Any, world: World, main: str = "inspector") -> Session:
    """Usually a role allowed to act (so calls get deep), sometimes one that is refused."""
    from hypothesis import strategies as st
    name = data.draw(st.integers(0, 99).map(
        lambda r: main if r < 75 else ("auditor", "handler", "super", "despatch")[r % 4]), label="as")
    return world.sessions[name]


def live(data: Any, world: World, query: str, bad: Any, label: str, *, bad_pct: int = 20) -> Any:
    """A value that exists in the database right now (mostly) or a hostile one."""
    from hypothesis import strategies as st

    # Draw an index, not sampled_from(rows): the rows change as calls succeed, and hypothesis
    # needs the same choices to replay the same example.
    r = data.draw(st.integers(0, 99), label=f"{label}?")
    if r < bad_pct:
        return data.draw(bad, label=label)
    found = world.ids(query)
    i = data.draw(st.integers(0, 10**6), label=f"{label}#")
    return found[i % len(found)] if found else None
