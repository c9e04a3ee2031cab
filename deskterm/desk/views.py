"""Named views of the conversation list: a search, its filters and its order saved under a
name, to switch back to with a key (notmuch's saved searches, aerc's folders of queries).

They are the agent's own way of looking at the desk, not the desk's state, so they live in a
small JSON file in the desk's home (views.json, owner-only like every file there) rather than
in the database: readable, editable by hand, and kept out of backups of the mail.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from deskterm import paths
from deskterm.desk import status as lifecycle
from deskterm.desk.filters import FILTER_KEYS
from deskterm.errors import ConfigError
from deskterm.sanitize import one_line

MAX_NAME = 40


@dataclass(frozen=True)
class View:
    status: str = "open"
    search: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    order: str = "newest"


def views_file() -> Path:
    return paths.home() / "views.json"


def load() -> dict[str, View]:
    """The saved views by name, in the order saved; none when the file is missing. An entry
    that is not a view (edited by hand) is refused with one sentence naming the file."""
    path = views_file()
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        found = {}
        for name, entry in raw.items():
            filters = {k: str(v) for k, v in entry.get("filters", {}).items() if k in FILTER_KEYS}
            found[str(name)] = View(
                status=lifecycle.checked(str(entry.get("status", "open")), or_all=True),
                search=str(entry.get("search", "")),
                filters=filters,
                order=str(entry.get("order", "newest")),
            )
    except (ValueError, AttributeError, TypeError) as exc:
        raise ConfigError(f"{path} is not a list of views ({exc}); fix or remove it.") from exc
    return found


def save(name: str, view: View) -> str:
    """Save (or replace) a view under `name`; returns the name as stored."""
    name = one_line(name)
    if not name:
        raise ConfigError("A view needs a name.")
    if len(name) > MAX_NAME:
        raise ConfigError(f"A view's name may be at most {MAX_NAME} characters long.")
    views = load()
    views[name] = view
    _write({key: asdict(value) for key, value in views.items()})
    return name


def get(name: str) -> View:
    views = load()
    if name not in views:
        known = ", ".join(views) or "none saved yet"
        raise ConfigError(f"There is no view {name!r} (views: {known}).")
    return views[name]


def _write(data: dict[str, object]) -> None:
    """Write the whole file anew and move it into place: never half a file."""
    path = views_file()
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    try:
        paths.replace_private(path, text.encode("utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"The views could not be saved in {path} ({exc.strerror or type(exc).__name__})."
        ) from None
