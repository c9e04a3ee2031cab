"""What every table is built on: the model bound to the desk's database, and JSON in a text
column. Apart from the tables so that each module of them imports this, not one another."""

from __future__ import annotations

import json
from typing import Any

import peewee

from deskterm.store.db import database

# One encoder for every row: json.dumps would build it again per call (a first sync encodes
# about 60,000 values).
_encode = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


class JSONField(peewee.TextField):
    """JSON in a text column: portable across engines, and readable in a SQL shell."""

    def db_value(self, value: Any) -> str | None:
        return None if value is None else _encode(value)

    def python_value(self, value: str | None) -> Any:
        return None if value is None else json.loads(value)


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False
