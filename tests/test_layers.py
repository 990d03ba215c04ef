"""The one-way layer rule of DESIGN.md section 2, checked on every import in the packages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"tickets", "qr", "bots", "workers", "gateway", "templates"}
ALLOWED = {
    "tickets": set(),
    "qr": {"tickets"},
    "bots": {"tickets", "qr", "templates"},
    "workers": {"bots", "qr", "tickets", "templates"},
    "gateway": OURS,
}
# Third-party frameworks confined to one package.
CONFINED = {"fastapi": "gateway", "starlette": "gateway", "rq": "workers"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_lower_layers(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no modules"
    for path in files:
        imported = _imports(path)
        ours = (imported & OURS) - {package}
        assert ours <= ALLOWED[package], f"{path.relative_to(ROOT)} imports {sorted(ours - ALLOWED[package])}"
        for framework, home in CONFINED.items():
            assert framework not in imported or package == home, (
                f"{path.relative_to(ROOT)} imports {framework}, which belongs in {home}/ only"
            )
