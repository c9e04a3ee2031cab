"""Bulk reads and writes for the ingest path, where peewee's per-row query building is the
cost that matters."""

from __future__ import annotations

import peewee

from deskterm.store.db import is_sqlite


class RowWriter:
    """Prepared INSERT/UPDATE statements for bulk work, built once per model.

    peewee builds SQL anew for every `create`: 3-4 ms a message in a first sync of 10,000. The
    ingest path writes the same shapes thousands of times, so it builds each statement once and
    runs it on the connection's cursor. Values go through the fields' own conversion (JSON,
    dates), except for plain text, number and key columns, whose values are already what the
    driver takes: that conversion was a tenth of the writer's time. Portable: the placeholder
    and quoting come from the database in use; new ids come from `lastrowid` on SQLite and from
    `RETURNING` elsewhere.
    """

    def __init__(self, model: type[peewee.Model], columns: list[str]) -> None:
        self.model = model
        self.fields = [model._meta.fields[name] for name in columns]
        self.names = [f.name for f in self.fields]
        self.convert = [None if _plain(f) else f.db_value for f in self.fields]
        db = model._meta.database
        table = _quote(model._meta.table_name)
        names = ", ".join(_quote(f.column_name) for f in self.fields)
        marks = ", ".join([db.param] * len(self.fields))
        self.insert_sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
        self.returning_sql = f'{self.insert_sql} RETURNING "id"'
        sets = ", ".join(f"{_quote(f.column_name)} = {db.param}" for f in self.fields)
        self.update_sql = f'UPDATE {table} SET {sets} WHERE "id" = {db.param}'
        self.db = db
        # New ids: lastrowid on SQLite, RETURNING elsewhere. Writers are made on an open desk.
        self.returns_rowid = is_sqlite(db.obj if isinstance(db, peewee.DatabaseProxy) else db)

    def _values(self, row: dict[str, object]) -> list[object]:
        return [
            row[name] if convert is None else convert(row[name])
            for name, convert in zip(self.names, self.convert, strict=True)
        ]

    def insert(self, row: dict[str, object]) -> int:
        cursor = self.db.cursor()
        if self.returns_rowid:
            cursor.execute(self.insert_sql, self._values(row))
            return int(cursor.lastrowid)
        cursor.execute(self.returning_sql, self._values(row))
        return int(cursor.fetchone()[0])

    def insert_many(self, rows: list[dict[str, object]]) -> None:
        if rows:
            self.db.cursor().executemany(self.insert_sql, [self._values(r) for r in rows])

    def update_many(self, rows: list[tuple[int, dict[str, object]]]) -> None:
        if rows:
            self.db.cursor().executemany(
                self.update_sql, [[*self._values(row), key] for key, row in rows]
            )


def select_in(
    model: type[peewee.Model],
    columns: list[str],
    key: str,
    values: list[object],
    *,
    where: tuple[str, object] | None = None,
    order_by_id: bool = False,
) -> list[tuple[object, ...]]:
    """Raw rows of `model` whose `key` column is one of `values`, 500 at a time.

    The batch writer's lookups (known dedup keys, threads, senders): peewee builds a node per
    value of an IN list, a sixth of a first sync's writer time for what is one short SQL text.
    `where` adds one `column = value` condition. Values come back as the driver gives them.
    """
    meta = model._meta
    db = meta.database
    names = ", ".join(_quote(meta.fields[c].column_name) for c in columns)
    table = _quote(meta.table_name)
    key_column = _quote(meta.fields[key].column_name)
    extra = ""
    extra_params: list[object] = []
    if where is not None:
        extra = f" AND {_quote(meta.fields[where[0]].column_name)} = {db.param}"
        extra_params = [where[1]]
    order = ' ORDER BY "id"' if order_by_id else ""
    rows: list[tuple[object, ...]] = []
    unique = sorted(set(values), key=str)
    for i in range(0, len(unique), 500):
        chunk = unique[i : i + 500]
        marks = ", ".join([db.param] * len(chunk))
        sql = f"SELECT {names} FROM {table} WHERE {key_column} IN ({marks}){extra}{order}"
        rows.extend(db.execute_sql(sql, [*chunk, *extra_params]).fetchall())
    return rows


# Columns whose Python values (str, int, bool, None, or an id for a key) the drivers store as
# they are; peewee's conversion of them only re-checks the type.
_PLAIN_FIELDS = (
    peewee.CharField,
    peewee.TextField,
    peewee.IntegerField,
    peewee.BooleanField,
)


def _plain(field: peewee.Field) -> bool:
    if isinstance(field, peewee.ForeignKeyField):
        return isinstance(field.rel_field, peewee.AutoField | peewee.IntegerField)
    return type(field) in _PLAIN_FIELDS


def _quote(name: str) -> str:
    """Standard SQL identifier quoting (SQLite and PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


def follow_given_ids(model: type[peewee.Model]) -> None:
    """After rows were inserted with ids of their own (the demo's bulk rows): new rows get ids
    after them. SQLite takes the largest id plus one by itself; PostgreSQL's sequence does not
    see ids it did not hand out, and its next insert would collide."""
    db = model._meta.database
    if is_sqlite(db.obj if isinstance(db, peewee.DatabaseProxy) else db):
        return
    table = _quote(model._meta.table_name)
    db.execute_sql(
        f"SELECT setval(pg_get_serial_sequence({db.param}, 'id'), "
        f"(SELECT coalesce(max(id), 1) FROM {table}))",
        [table],
    )
