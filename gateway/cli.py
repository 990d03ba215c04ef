"""The `petition-gateway` command: serve, migrate, create-api-key, create-user, worker, relay, doctor."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import shutil
import sys
from collections.abc import Sequence

from gateway import logs
from tickets import dev_credentials
from tickets.access.apikeys import Role, create_api_key, revoke_api_key
from tickets.access.officers import UserRole, create_user
from tickets.clock import utcnow
from tickets.errors import ConfigurationError
from tickets.settings import Settings
from tickets.storage.db import create_db_engine, migrate
from workers.processes import run_relay, run_worker


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="petition-gateway", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate the database and run the web gateway")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    # One process suits the embedded SQLite (one writer at a time); PostgreSQL gains from a few more
    # processes than cores (its transactions wait on round trips with the event loop blocked).
    serve.add_argument("--workers", type=int, default=1,
                       help="web processes (default 1, right for SQLite; on PostgreSQL about cores + 1)")
    sub.add_parser("migrate", help="bring the database schema up to date")
    key = sub.add_parser("create-api-key", help="create a bearer key for the JSON API (printed once)")
    key.add_argument("--name", required=True)
    key.add_argument("--role", required=True, choices=[r.value for r in Role])
    user = sub.add_parser("create-user", help="create a console user (the password is asked for, or read from "
                                              "CONSOLE_PASSWORD)")
    user.add_argument("--username", required=True)
    user.add_argument("--role", required=True, choices=[r.value for r in UserRole])
    revoke = sub.add_parser("revoke-api-key", help="revoke a key by name")
    revoke.add_argument("--name", required=True)
    sub.add_parser("worker", help="run an RQ worker for the gateway's jobs (needs REDIS_URL)")
    sub.add_parser("relay", help="move outbox rows to RQ and run periodic sweeps (needs REDIS_URL)")
    sub.add_parser("doctor", help="check a deployment before it goes live and say what to fix (exit 1 if not ready)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    logs.configure()
    if args.command == "doctor":
        return _doctor()
    try:
        settings = Settings().prepared()
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        return _serve(settings, args.host, args.port, args.workers)
    migrate(settings.database_url)
    if args.command == "migrate":
        print("database is up to date")
        return 0
    if args.command in ("worker", "relay"):
        try:
            (run_worker if args.command == "worker" else run_relay)(settings)
        except ConfigurationError as exc:
            print(f"configuration error: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "create-user":
        return _create_user(settings, args.username, UserRole(args.role))
    engine = create_db_engine(settings.database_url)
    with engine.begin() as conn:
        if args.command == "create-api-key":
            print(create_api_key(conn, args.name, Role(args.role), utcnow()))
            return 0
        if revoke_api_key(conn, args.name, utcnow()):
            print(f"revoked {args.name}")
            return 0
    print(f"no active key named {args.name}", file=sys.stderr)
    return 1


def _doctor() -> int:
    """Check the deployment these settings describe; print what to fix."""
    from gateway import doctor

    logging.getLogger("alembic").setLevel(logging.WARNING)  # reading the schema's revision is not news here
    try:
        settings = Settings().prepared()
    except ConfigurationError as exc:
        return doctor.report([doctor.Finding("settings", "FAIL", str(exc), "see docs/configuration.md")], sys.stdout)
    return doctor.report(doctor.examine(settings), sys.stdout)


def _create_user(settings: Settings, username: str, role: UserRole) -> int:
    """Make a console user; the password comes from CONSOLE_PASSWORD or is typed twice (never an argument,
    which would stay in the shell's history and the process list)."""
    password = os.environ.get("CONSOLE_PASSWORD", "")
    if not password:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("the two passwords differ", file=sys.stderr)
            return 1
    engine = create_db_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            user = create_user(conn, username, role, password, utcnow())
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"created {user.role.value} {user.username}")
    return 0


def _serve(settings: Settings, host: str, port: int, workers: int) -> int:
    import uvicorn

    from gateway.app import serving_dev_fakes

    migrate(settings.database_url)
    if settings.is_dev and not settings.public_base_url_given:
        # Links in replies and QR cards must reach this very server: its address, recorded once for the web
        # processes uvicorn starts and for the worker and relay (tickets/dev_credentials.py).
        dev_credentials.record(settings.var_dir, public_base_url=dev_public_url(host, port))
        settings = settings.refreshed()
    if workers > 1 and not settings.prometheus_multiproc_dir:
        # Several web processes count apart: /metrics adds up their files (docs/operations.md). This run's own
        # folder, emptied first, so counts of processes from earlier runs are not added in.
        shared = (settings.var_dir / "prometheus").resolve()
        shutil.rmtree(shared, ignore_errors=True)
        shared.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(shared)  # read by the web processes uvicorn starts
    with serving_dev_fakes(settings) as settings:
        if settings.wechat_simulated:
            print(f"dev mode: play the citizen at {settings.public_base_url}/dev/wechat")
        uvicorn.run("gateway.app:create_app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_config=logs.config(), access_log=False)
    return 0


def dev_public_url(host: str, port: int) -> str:
    """The address of a dev server started on `host`:`port` as a browser on this machine reaches it.

    A wildcard (0.0.0.0, ::) is where the server listens, not an address: loopback stands for it (set
    PUBLIC_BASE_URL to the machine's LAN address to open links from a phone).
    """
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - recognised, never used
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


if __name__ == "__main__":
    raise SystemExit(main())
