"""Payments' raw SQL and compiled queries live in ``payments/persistence.py`` and nowhere else."""

import ast
from pathlib import Path

import payments

APP = Path(payments.__file__).parent
SEAM = APP / "persistence.py"
# What only the seam may use: a cursor's connection, compiled querysets, raw SQL in the ORM.
SEAM_MODULES = {"paysys.db.compiled"}
SEAM_NAMES = {"connection", "connections", "CompiledQuery", "RawSQL"}
SEAM_CALLS = {"raw", "extra", "cursor"}


def _violations(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module in SEAM_MODULES:
                found.append(f"imports {node.module}")
            found += [f"imports {alias.name}" for alias in node.names if alias.name in SEAM_NAMES]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SEAM_CALLS
        ):
            found.append(f"calls .{node.func.attr}")
    return found


def _application_modules() -> list[Path]:
    return [p for p in APP.rglob("*.py") if "migrations" not in p.parts and p != SEAM]


def test_only_the_persistence_module_reaches_below_the_orm():
    violations = [
        f"{path.relative_to(APP)}: {v}" for path in _application_modules() for v in _violations(path)
    ]
    assert violations == []


def test_the_check_finds_sql_outside_the_seam(tmp_path):
    stray = tmp_path / "stray.py"
    stray.write_text(
        "from django.db import connection\n"
        "from paysys.db.compiled import CompiledQuery\n"
        "def f(qs):\n"
        "    with connection.cursor() as c:\n"
        "        c.execute('SELECT 1')\n"
        "    return qs.raw('SELECT 1')\n"
    )
    assert set(_violations(stray)) == {
        "imports paysys.db.compiled",
        "imports CompiledQuery",
        "imports connection",
        "calls .cursor",
        "calls .raw",
    }
    assert _violations(SEAM)
