"""The parser's bounds: what one mail may cost.

Every bound is here so the whole budget of one hostile message reads in one place: whatever a
mail holds, parsing it costs no more than parsing a normal one. The two an operator may tune
(the body kept, the smallest image kept) are `parse`'s arguments; their defaults and the
environment variables that override them are deskterm.settings' (`parse_limits`).
"""

# Bounds that keep one hostile message from costing more than a normal one.
MAX_DEPTH = 32  # MIME nesting we follow; deeper parts are ignored
MAX_PARTS = 1000  # MIME parts we look at per message
MAX_REFERENCES = 100  # ids kept from References: the thread root plus the most recent ones
MAX_ADDRESSES = 1000  # per address header
MAX_DEFECTS = 50
MAX_HEADER_CHARS = 64_000  # a header value longer than this is cut before decoding
MAX_NAME_CHARS = 200  # attachment names
MAX_VALUE_CHARS = 4096  # a kept or mapped header's value, decoded, on one line
MAX_MAPPED_HEADERS = 32  # headers a caller may ask `parse` to keep besides KEPT_HEADERS
