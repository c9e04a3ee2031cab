"""The engine never imports Textual: the CLI, scripts and the UI all drive the same code."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
    "contracts"
][0]


@pytest.mark.parametrize("module", CONTRACT["source_modules"])
def test_engine_module_imports_no_ui(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich') "
        "or m.startswith(('deskterm.screens', 'deskterm.widgets'))); print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_engine_module_is_under_contract() -> None:
    ui = {"app", "cli", "cli_contacts", "cli_ui", "__init__", "__main__"}  # the front ends
    modules = {f"deskterm.{p.stem}" for p in (ROOT / "deskterm").glob("*.py") if p.stem not in ui}
    assert modules <= set(CONTRACT["source_modules"])
