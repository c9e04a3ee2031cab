"""The engine never imports Textual: the CLI, scripts and the UI all drive the same code.

import-linter checks the imports as written (pyproject's contracts); this checks what a real
import loads, module by module in a fresh interpreter, which also catches an import made by
a library on the engine's behalf. It also keeps every module small (issue 12: about 400 lines).
"""

from __future__ import annotations

import ast
import pkgutil
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import deskterm

pytestmark = pytest.mark.without_database

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
    "contracts"
]
LAYERS = next(c for c in CONTRACTS if c["type"] == "layers")
BELOW_UI = next(c for c in CONTRACTS if c["type"] == "forbidden")["source_modules"]


def _below_ui() -> list[str]:
    modules = []
    for info in pkgutil.walk_packages(deskterm.__path__, "deskterm."):
        if info.name.startswith(tuple(BELOW_UI)) and not info.name.endswith("__main__"):
            modules.append(info.name)
    return sorted(modules)


@pytest.mark.parametrize("module", _below_ui())
def test_engine_module_imports_no_ui(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich') "
        "or m.startswith(('deskterm.app', 'deskterm.screens', 'deskterm.widgets'))); print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_package_has_a_layer() -> None:
    """A module outside the layers contract would escape it (and the UI boundary with it)."""
    layered = {name.strip() for layer in LAYERS["layers"] for name in layer.split("|")}
    top = {info.name for info in pkgutil.iter_modules(deskterm.__path__)} - {"__main__"}
    assert top <= layered, f"add {sorted(top - layered)} to the layers contract in pyproject"
    ui = {"cli", "app", "app_session", "app_commands", "screens", "widgets"}
    assert {f"deskterm.{name}" for name in layered - ui} == set(BELOW_UI)


MAX_MODULE_LINES = 420  # "about 400": a module past this is split along its seams


def test_no_module_is_over_about_400_lines() -> None:
    """Small modules named for what they hold: a newcomer reads the tree and knows where
    each thing is, and a module that grows past this has become two things."""
    package = Path(deskterm.__file__).parent
    over = {
        str(path.relative_to(package.parent)): lines
        for path in sorted(package.rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert over == {}, f"split these along their seams (lines each): {over}"


# SQL functions or words only one of the two engines knows (or spells this way), or only some
# versions of one: `materialized` (SQLite before 3.35 refuses it).
ONE_ENGINE_SQL = {
    "julianday", "strftime", "date", "datetime", "instr", "printf", "group_concat", "iif",
    "date_part", "to_char", "date_trunc", "split_part", "string_agg", "least", "greatest",
    "ilike", "pragma", "autoincrement", "glob", "regexp", "materialized",
}  # fmt: skip


def _one_engine_sql(path: Path) -> list[str]:
    """Calls `fn.<name>` of ONE_ENGINE_SQL, and SQL text (in `SQL(...)` or `execute_sql(...)`)
    that names one of them, in a module's code."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        owner = getattr(func, "value", None)
        if name.lower() in ONE_ENGINE_SQL and getattr(owner, "id", "") == "fn":
            found.append(f"{path.name}:{node.lineno} fn.{name}")
        elif name in ("SQL", "execute_sql") and node.args:
            text = " ".join(
                part.value
                for part in ast.walk(node.args[0])
                if isinstance(part, ast.Constant) and isinstance(part.value, str)
            ).lower()
            words = set(re.findall(r"[a-z_]+", text)) | ({"::"} if "::" in text else set())
            for word in sorted(words & (ONE_ENGINE_SQL | {"::"})):
                found.append(f"{path.name}:{node.lineno} {word}")
    return found


def test_no_sql_of_one_engine_outside_the_store() -> None:
    """Issue 15: the desk runs on SQLite and PostgreSQL from one code base, and what each
    engine spells its own way lives in store/ (store/dialect.py), so a query written above it
    cannot quietly work on one engine only."""
    package = Path(deskterm.__file__).parent
    found = [
        hit
        for path in sorted(package.rglob("*.py"))
        if "store" not in path.relative_to(package).parts[:1]
        for hit in _one_engine_sql(path)
    ]
    assert found == [], f"move these into deskterm/store/dialect.py: {found}"


def test_the_one_engine_sql_guard_sees_what_it_looks_for(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text(
        "from peewee import SQL, fn\n"
        "a = fn.julianday(x)\n"
        "b = fn.GREATEST(1, 2)\n"
        "c = db.execute_sql('SELECT id FROM t WHERE d > datetime(\\'now\\')')\n"
        "d = SQL(f'CAST(x AS {t})::text')\n"
        "e = fn.COUNT(y)\n",
        encoding="utf-8",
    )
    assert _one_engine_sql(module) == [
        "bad.py:2 fn.julianday",
        "bad.py:3 fn.GREATEST",
        "bad.py:4 datetime",
        "bad.py:5 ::",
    ]
