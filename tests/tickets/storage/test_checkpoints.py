"""tickets/storage/checkpoints.py: the web's SQLite log is copied back by a thread, not by commits on the event loop."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from gateway.app import create_app
from tickets.settings import Settings
from tickets.storage.checkpoints import WEB_AUTOCHECKPOINT_PAGES, Checkpointer
from tickets.storage.db import create_db_engine

PAGE = "x" * 3000  # a row of about one page


def write_pages(engine: Engine, commits: int) -> None:
    for _ in range(commits):
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t (a) VALUES (?)", (PAGE,))


def log_frames(engine: Engine) -> int:
    """The log's frames now (read by a checkpoint, which also copies them back)."""
    return Checkpointer(engine).checkpoint()[1]


def new_engine(path: Path, pages: int | None) -> Engine:
    engine = create_db_engine(f"sqlite:///{path}", autocheckpoint_pages=pages)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT)")
    return engine


def test_commits_leave_the_log_to_the_checkpointer(tmp_path: Path) -> None:
    default, web = new_engine(tmp_path / "default.db", None), new_engine(tmp_path / "web.db", WEB_AUTOCHECKPOINT_PAGES)
    try:
        write_pages(default, 700)
        write_pages(web, 700)
        # Each commit appends two pages or more: past 1,000 frames SQLite's default makes a commit copy the log back
        # (and the next one start it over); the web's engines leave it to the thread up to the safety net.
        assert log_frames(default) < 1000 < log_frames(web) < WEB_AUTOCHECKPOINT_PAGES
    finally:
        default.dispose()
        web.dispose()


def test_a_checkpoint_copies_the_whole_log_back_without_taking_the_write_lock(tmp_path: Path) -> None:
    engine = new_engine(tmp_path / "g.db", WEB_AUTOCHECKPOINT_PAGES)
    try:
        write_pages(engine, 50)
        busy, frames, copied = Checkpointer(engine).checkpoint()
        assert busy == 0 and frames >= 100 and copied == frames
        with engine.begin() as conn:  # nothing was left locked
            conn.exec_driver_sql("INSERT INTO t (a) VALUES ('after')")
    finally:
        engine.dispose()


def test_a_served_sqlite_app_checkpoints_on_a_thread_while_it_runs(settings: Settings) -> None:
    app = create_app(settings, run_jobs=False)
    sqlite = settings.database_url.startswith("sqlite")
    with TestClient(app):
        checkpointer = app.state.wal_checkpointer
        if not sqlite:
            assert checkpointer is None  # PostgreSQL keeps its own checkpoints
            return
        deadline = time.monotonic() + 5
        while checkpointer.rounds < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert checkpointer.rounds >= 3
        state = app.state.gateway
        for engine in (state.engine, state.intake_engine):
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == WEB_AUTOCHECKPOINT_PAGES
    rounds = checkpointer.rounds
    time.sleep(0.3)
    assert checkpointer.rounds == rounds  # stopped with the app
