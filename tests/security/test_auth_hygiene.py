"""Authentication hygiene (issue 19): no secrets in argv/env, TLS for remote servers, demo data
never in live, live and training separated by credentials, operator administration."""
from __future__ import annotations

import itertools
import logging
import os

import psycopg
import pytest
from psycopg import sql

from controlroom.db import init_database
from controlroom.db.engine import secure_conninfo
from controlroom.errors import ControlRoomError, NotPermitted
from controlroom.session import NO_ACCESS, open_session

from ..conftest import server_url

_n = itertools.count(1)


def _empty_db(pg_server, name):
    url = server_url(pg_server, name)
    with psycopg.connect(server_url(pg_server, "postgres"), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    return url


@pytest.mark.parametrize("url,mode", [
    ("postgresql://db1.tvp.example/controlroom", "verify-full"),
    ("postgresql://db1,db2/controlroom?target_session_attrs=read-write", "verify-full"),
    ("host=10.1.2.3 dbname=controlroom", "verify-full"),
    ("postgresql:///controlroom?host=/run/postgresql", None),
    ("postgresql://localhost/controlroom", None),
    ("postgresql://127.0.0.1:5432/controlroom", None),
])
def test_remote_connections_require_verified_tls(url, mode):
    from psycopg.conninfo import conninfo_to_dict
    assert conninfo_to_dict(secure_conninfo(url)).get("sslmode") == mode


def test_explicit_tls_opt_out_is_kept_but_warned(caplog):
    from psycopg.conninfo import conninfo_to_dict
    with caplog.at_level(logging.WARNING, logger="controlroom.db.engine"):
        info = conninfo_to_dict(secure_conninfo("postgresql://db9.example/x?sslmode=require"))
    assert info["sslmode"] == "require"
    assert any("not protected" in r.message for r in caplog.records)


def test_no_passwords_in_argv_or_environment(monkeypatch):
    from ui.shell.app import check_secrets, parse_args
    assert "password" in check_secrets(parse_args(["--database-url", "postgresql://app:secret@db/x"]))
    assert "embedded demo only" in check_secrets(parse_args(["--database-url", "postgresql://db/x",
                                                              "--password", "demo"]))
    monkeypatch.setenv("PGPASSWORD", "secret")
    assert check_secrets(parse_args(["--database-url", "postgresql://db/x"])) is None
    assert "PGPASSWORD" not in os.environ
    from controlroom.db.__main__ import main as db_main
    with pytest.raises(SystemExit):
        db_main(["init", "--database-url", "postgresql://owner:pw@db/x"])


def test_demo_never_reaches_a_database_given_by_url_without_demo(pg_server):
    from ui.shell.app import parse_args, resolve_database
    url = _empty_db(pg_server, f"sec_live_{next(_n)}")
    init_database(url, demo=False)  # what the owner's `python -m controlroom.db init` does
    args = parse_args(["--database-url", url])
    assert resolve_database(args) == url and args._demo is False
    with psycopg.connect(url) as c:
        assert c.execute("SELECT count(*) FROM users").fetchone()[0] == 0
        assert c.execute("SELECT count(*) FROM incidents").fetchone()[0] == 0
    with pytest.raises(NotPermitted):  # the demo operators have no access to it
        open_session(url, "inspector.north", "demo", "DEMO-X")


def test_demo_is_refused_on_a_database_that_already_has_operators(pg_server, db_url):
    with pytest.raises(ControlRoomError, match="EMPTY"):
        with psycopg.connect(db_url, autocommit=True) as c:
            c.execute("DELETE FROM meta WHERE key = 'seeded'")
        init_database(db_url, demo=True)


def test_a_trainee_cannot_reach_live_and_live_only_staff_cannot_reach_training(pg_server, db_url, open_as):
    name = f"sec_trn_{next(_n)}"
    trn = _empty_db(pg_server, name)
    init_database(trn, training=True, live_url=db_url)
    trainee = f"trainee{os.getpid()}{next(_n)}"
    with open_session(trn, "admin", "demo", "ADM-T", training=True) as admin:
        from controlroom.db.roles import scram_verifier
        raw = admin.engine.raw_connection()
        verifier = scram_verifier(raw.driver_connection, trainee, "trainee-password")
        raw.close()
        with admin.ctx.single() as tx:
            tx.call("api.admin_operator_add", username=trainee, display_name="Trainee", job_role="call_handler",
                    home_room="north", verifier=verifier)
    try:
        open_session(trn, trainee, "trainee-password", "T-TRN", training=True).close()
        with pytest.raises(NotPermitted) as info:
            open_session(db_url, trainee, "trainee-password", "T-LIVE")
        assert str(info.value) == NO_ACCESS
        with pytest.raises(psycopg.OperationalError, match="permission denied for database|CONNECT"):
            psycopg.connect(secure_conninfo(db_url, user=trainee, password="trainee-password"))
    finally:
        with psycopg.connect(server_url(pg_server, "postgres"), autocommit=True) as c:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            c.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(trainee)))


def test_operator_cli_adds_an_operator_who_then_signs_in(pg_server, fresh_db_url, monkeypatch, capsys):
    from controlroom.db.__main__ import main as db_main
    user = f"pc{os.getpid()}x{next(_n)}"
    answers = iter(["a-long-password-1", "a-long-password-1"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    try:
        assert db_main(["operator", "add", user, "--job", "despatcher", "--name", "PC New", "--room", "south",
                        "--database-url", fresh_db_url]) == 0
        with open_session(fresh_db_url, user, "a-long-password-1", "CLI-1") as s:
            assert (s.user.role, s.user.display_name, s.room.code) == ("despatcher", "PC New", "south")
        assert db_main(["operator", "role", user, "--job", "supervisor", "--database-url", fresh_db_url]) == 0
        with open_session(fresh_db_url, user, "a-long-password-1", "CLI-2") as s:
            assert s.user.role == "supervisor"
        with psycopg.connect(fresh_db_url) as c:
            kinds = [r[0] for r in c.execute("SELECT action FROM audit_log WHERE entity = %s ORDER BY id",
                                             (f"operator:{user}",))]
        assert kinds == ["operator.added", "operator.role_changed"]
    finally:
        with psycopg.connect(fresh_db_url, autocommit=True) as c:
            dbn = c.execute("SELECT current_database()").fetchone()[0]
            c.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(sql.Identifier(dbn), sql.Identifier(user)))
            c.execute("DELETE FROM users WHERE username = %s", (user,))
        with psycopg.connect(server_url(pg_server, "postgres"), autocommit=True) as c:
            c.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))
