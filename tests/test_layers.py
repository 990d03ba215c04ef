"""The one-way layer rule (docs/design.md section 2), checked on every import in the packages.

    language  ->  tickets  ->  qr  ->  bots  ->  workers  ->  gateway

Each package may import only those to its left. Inside them, a few rooms have rules of their own:
the fakes of the platforms are for dev mode and tests, tickets/storage/ is a leaf, the gateway's five
surfaces do not import each other, and the tables are written only by tickets/.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"language", "tickets", "qr", "bots", "workers", "gateway", "templates"}
ALLOWED = {
    "language": set(),
    "tickets": {"language"},
    "qr": {"language", "tickets"},
    "bots": {"language", "tickets", "qr", "templates"},
    "workers": {"language", "bots", "qr", "tickets", "templates"},
    "gateway": OURS,
}
# Third-party frameworks confined to one package.
CONFINED = {"fastapi": "gateway", "starlette": "gateway", "rq": "workers"}
# The loopback fakes of WeChat, Alipay and SMS: the dev simulator and the app's dev mode only (and tests).
FAKES_ALLOWED = {"gateway/app.py", "gateway/simulator.py"}
SURFACES = ("api", "miniapp", "cosign", "console", "open311")
# Modules outside tickets/ that read tables directly (read models), and why; only tickets/ writes them,
# except the WeChat access-token cache, which owns its table.
SCHEMA_READERS = {
    "bots/wechat/access_token.py": "its own access_tokens cache (reads and writes it)",
    "gateway/cosign/signing.py": "which account a signer's openid belongs to",
    "gateway/open311/router.py": "the GeoReport request list",
    "gateway/open311/catalogue.py": "services per zone",
    "gateway/console/queries.py": "the console's lists",
    "gateway/console/stats.py": "the dashboard",
    "gateway/console/tickets.py": "the ticket page",
    "gateway/console/ticket_data.py": "the ticket page",
    "workers/sweeps.py": "idle drafts to remind",
}


def _modules(path: Path) -> set[str]:
    """Every dotted module an import names (`from a.b import c` gives a.b and a.b.c)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_lower_layers(package: str) -> None:
    files = _files(package)
    assert files, f"{package}/ has no modules"
    for path in files:
        modules = _modules(path)
        tops = {m.split(".")[0] for m in modules}
        ours = (tops & OURS) - {package}
        assert ours <= ALLOWED[package], f"{_name(path)} imports {sorted(ours - ALLOWED[package])}"
        for framework, home in CONFINED.items():
            assert framework not in tops or package == home, (
                f"{_name(path)} imports {framework}, which belongs in {home}/ only"
            )


def test_only_the_simulator_and_dev_mode_import_the_fakes() -> None:
    for package in ALLOWED:
        for path in _files(package):
            if path.is_relative_to(ROOT / "bots" / "fakes"):
                continue
            fakes = {m for m in _modules(path) if m == "bots.fakes" or m.startswith("bots.fakes.")}
            assert not fakes or _name(path) in FAKES_ALLOWED, f"{_name(path)} imports {sorted(fakes)}"


def test_storage_is_a_leaf() -> None:
    for path in _files("tickets/storage"):
        ours = {m for m in _modules(path) if m.split(".")[0] in OURS}
        assert all(m.startswith("tickets.storage") for m in ours), f"{_name(path)} imports {sorted(ours)}"


@pytest.mark.parametrize("surface", SURFACES)
def test_the_gateway_surfaces_do_not_import_each_other(surface: str) -> None:
    others = {f"gateway.{s}" for s in SURFACES if s != surface}
    for path in _files(f"gateway/{surface}"):
        crossing = {m for m in _modules(path) if any(m == o or m.startswith(o + ".") for o in others)}
        assert not crossing, f"{_name(path)} imports {sorted(crossing)}: share it through gateway/ instead"


def test_tables_are_read_outside_tickets_only_by_the_listed_read_models() -> None:
    readers = set()
    for package in ALLOWED.keys() - {"tickets"}:
        for path in _files(package):
            if any(m.startswith("tickets.storage.schema") for m in _modules(path)):
                readers.add(_name(path))
    assert readers == set(SCHEMA_READERS)
