"""Full-text search on PostgreSQL with its own machinery: a tsvector per message and a GIN index.

SQLite's FTS5 (schema v2, `unicode61 remove_diacritics 2`) splits text into runs of letters and
digits, ignores case and accents, and matches each typed word as a prefix. PostgreSQL's text
search parser does not split the same way (an address stays one token, and in a database made
with the C locale any non-ASCII character counts as a letter, so "«hi»" is a word and "ÉCOLE"
is not lowered), so the text is normalised before the parser sees it, by one SQL function used
both for the stored vectors and for the typed query:

* accents go through the `unaccent` extension's dictionary (trusted since PostgreSQL 13: the
  desk's owner installs it without being a superuser), called with the dictionary named so
  that the function is immutable, as a generated column needs;
* lower case and "letter or digit" come from ICU (collation `und-x-icu`) when the server has
  it, so that they do not depend on the database's locale; without ICU, the database's own
  lower case, and ASCII punctuation as the separators (unaccent already turns most other
  punctuation into ASCII);
* everything that is not a letter or digit becomes a space.

The vector is a generated column (`message.search`) over the first `INDEXED_CHARACTERS` of the
four fields FTS5 indexes: PostgreSQL refuses a tsvector over 1 MB, and a mail must never fail
its batch for its size. It keeps word positions, for the one phrase a search asks for: a typed
word that normalising splits ("snake_case") finds its pieces side by side, as in FTS5. A stored
column rather than an expression index: a row the planner tests outside the index (a search
narrowed to the list's newest conversations) reads the vector instead of normalising the whole
text again.

The query is built from words, never from the typed text: each typed word (`fulltext.words`) is
normalised by the same function and split on spaces into pieces made only of letters and
digits; each piece is quoted, the pieces of a word are a phrase whose last piece is a prefix,
and the words are ANDed. Quotes, operators, backslashes and anything else typed are
separators by then, so no input is a tsquery syntax error.
"""

from __future__ import annotations

import peewee

from deskterm.errors import DeskError

# A vector of that many characters stays under PostgreSQL's 1 MB whatever the text: at worst
# 6 bytes a character (one-character words of 4-byte letters, each 4 bytes of entry, 2 of
# position count and 2 of position).
INDEXED_CHARACTERS = 150_000
COLUMN = "search"  # message.search, the generated tsvector
INDEX = "message_search"
# The fields FTS5 indexes (migrations.v1_v6.FTS_COLUMNS), text last; `||`, not concat_ws, which is
# only stable and so not allowed in a generated column.
_FIELDS = " || ' ' || ".join(
    f"coalesce(\"{field}\", '')" for field in ("subject", "from_addr", "from_name", "text")
)

_UNACCENT_MISSING = (
    "PostgreSQL's unaccent extension is not installed on the database server; install its "
    "contrib package there (Debian: postgresql-contrib), then open the desk again."
)
_UNACCENT_REFUSED = (
    "This database role may not install PostgreSQL's unaccent extension; ask the database's "
    "owner or a superuser to run CREATE EXTENSION unaccent in it, then open the desk again."
)


def install(database: peewee.Database) -> None:
    """Schema v8 on PostgreSQL: the extension, the normalising functions, the generated
    column (filled for every existing message as it is added) and its GIN index."""
    schema = _unaccent_schema(database)
    words = _words_expression(database, schema)
    for statement in (
        "CREATE OR REPLACE FUNCTION deskterm_search_words(value text) RETURNS text "
        f"LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT {words} $$",
        # Each typed word a phrase of its pieces (what normalising left of it: "a_b" is "a b"),
        # each piece quoted, the last one a prefix; the words ANDed. As FTS5 reads `"a_b"*`.
        "CREATE OR REPLACE FUNCTION deskterm_search_query(typed text[]) RETURNS tsquery "
        "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ "
        "SELECT to_tsquery('simple', coalesce(string_agg(phrase, ' & '), '')) FROM ("
        "SELECT string_agg(quote_literal(piece), ' <-> ' ORDER BY n) || ':*' AS phrase "
        "FROM unnest(typed) WITH ORDINALITY AS w(word, i), "
        "regexp_split_to_table(deskterm_search_words(word), ' ') WITH ORDINALITY AS p(piece, n) "
        "WHERE piece <> '' GROUP BY i) AS phrases $$",
        f'ALTER TABLE "message" ADD COLUMN "{COLUMN}" tsvector GENERATED ALWAYS AS '
        f"(to_tsvector('simple', deskterm_search_words(left({_FIELDS}, "
        f"{INDEXED_CHARACTERS})))) STORED",
        f'CREATE INDEX "{INDEX}" ON "message" USING gin ("{COLUMN}")',
    ):
        database.execute_sql(statement)


def _unaccent_schema(database: peewee.Database) -> str:
    """The schema holding unaccent, installed here first where it is missing; one sentence
    saying what to do where it cannot be."""
    found = database.execute_sql(
        "SELECT nspname FROM pg_extension JOIN pg_namespace ON pg_namespace.oid = extnamespace "
        "WHERE extname = 'unaccent'"
    ).fetchone()
    if found:
        return str(found[0])
    available = database.execute_sql(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'"
    ).fetchone()
    if not available:
        raise DeskError(_UNACCENT_MISSING)
    try:
        with database.atomic():  # a savepoint: the refusal must not end the migration's
            database.execute_sql("CREATE EXTENSION unaccent")
    except peewee.DatabaseError as exc:
        if "permission denied" in str(exc) or "must be" in str(exc):
            raise DeskError(_UNACCENT_REFUSED) from None
        raise
    return _unaccent_schema(database)


def _words_expression(database: peewee.Database, schema: str) -> str:
    icu = database.execute_sql("SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu'")
    return words_sql(schema, icu=icu.fetchone() is not None)


def words_sql(schema: str, *, icu: bool) -> str:
    """The body of deskterm_search_words over `value`: unaccented, lowered, and every run of
    characters other than letters and digits one space (ICU's letters and digits, else every
    ASCII character but those)."""
    quoted = '"' + schema.replace('"', '""') + '"'
    dictionary = (quoted + ".unaccent").replace("'", "''")
    unaccented = f"{quoted}.unaccent('{dictionary}'::regdictionary, value)"
    if icu:
        lowered, separators = f'lower({unaccented} COLLATE "und-x-icu")', "[^[:alnum:]]+"
    else:
        lowered, separators = f"lower({unaccented})", r"[\x01-/:-@[-`{-\x7f]+"
    return f"regexp_replace({lowered}, '{separators}', ' ', 'g')"
