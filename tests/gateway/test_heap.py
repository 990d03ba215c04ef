"""A server's process settles its heap at start-up (gateway/app.py `settle_heap`): what start-up built (the language
models, gazetteers, catalogues) is kept out of the cyclic collector's walks, whose every full pass would otherwise
hold the event loop for over 100 ms. An app that a test or another program builds leaves their collector alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import gc, json, os
    from fastapi.testclient import TestClient
    from gateway.app import create_app, create_app_from_env
    from tickets.settings import Settings
    from tickets.storage.db import migrate

    migrate(os.environ["DATABASE_URL"])
    with TestClient(create_app(Settings().prepared(), run_jobs=False)):
        built_among_others = gc.get_freeze_count()
    with TestClient(create_app_from_env()) as served:
        served_alone = gc.get_freeze_count()
        healthy = served.get("/healthz").status_code
    print(json.dumps({"built_among_others": built_among_others, "served_alone": served_alone, "healthy": healthy}))
""")


def test_a_served_app_keeps_what_start_up_built_out_of_the_collectors_walks(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "ALIPAY_", "REDIS_", "DATABASE_"))}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'heap.db'}", "VAR_DIR": str(tmp_path / "var"),
                "GATEWAY_ENV": "dev", "PYTHONPATH": str(ROOT)})
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["built_among_others"] == 0  # a test's app: the process's collector is left as it was
    assert seen["served_alone"] > 100_000 and seen["healthy"] == 200  # the models and the rest, frozen
