"""Routing rules: what the desk does with new mail before an agent sees it.

An admin keeps ordered rules in the database (`deskterm rule add --file`), each for one
channel or for all: conditions on the mail (`conditions`), actions on its conversation
(`actions`, a registry other features add to). Ingest asks `routing.Router` about each new
conversation (and each follow-up, where a rule says so); `deskterm rule test` asks the same
without storing anything. The modules: `rulefile` (the file's schema), `rulebook` (the stored
rules: add, list, move, remove), `bounded` (regular expressions bounded in time), `facts`
(what a condition may ask of a mail), `conditions`, `actions`, `routing`.
"""
