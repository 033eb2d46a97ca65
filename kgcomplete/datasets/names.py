"""What a name from data may be: the limits on relationship types, labels and entity keys.

Neo4j keeps every relationship type and label it ever saw and reads them all at each start,
and its key index refuses entries above about 8 KB after part of a load was written. So the
loader refuses, before anything is written, with the file and line:

- a relationship type or label longer than :data:`MAX_NAME_CHARS` (255) characters, blank
  (only spaces), or holding a control character (NUL included);
- an entity key longer than :data:`MAX_KEY_BYTES` (4,096) bytes of UTF-8, or blank.

Every other character is fine: names are stored verbatim (quotes, backticks, braces,
arrows, any script).

Example:
    >>> name_problem("relationship type", "P31") is None
    True
    >>> name_problem("relationship type", " ")
    "relationship type ' ' is blank"
"""

from __future__ import annotations

MAX_NAME_CHARS = 255
MAX_KEY_BYTES = 4096

# words of a header row: (head, relation, tail) columns
HEADER_WORDS = (
    {"head", "subject", "source", "src", "from", "start", "h", "s", "head_id", "subject_id", "source_id"},
    {"relation", "relationship", "predicate", "type", "rel", "edge", "label", "r", "p", "relation_type"},
    {"tail", "object", "target", "dst", "to", "end", "t", "o", "tail_id", "object_id", "target_id"},
)


def _short(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")


def name_problem(kind: str, value: str) -> str | None:
    """Why ``value`` cannot be a relationship type or label (``kind`` says which), or None."""
    if len(value) > MAX_NAME_CHARS:
        return f"{kind} {_short(value)} has {len(value):,} characters; at most {MAX_NAME_CHARS} are allowed"
    if not value.strip():
        return f"{kind} {value!r} is blank"
    bad = next((c for c in value if ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        return f"{kind} {_short(value)} holds the control character {bad!r}"
    return None


def key_problem(value: str) -> str | None:
    """Why ``value`` cannot be an entity key, or None."""
    if len(value) * 4 > MAX_KEY_BYTES and len(value.encode()) > MAX_KEY_BYTES:
        return (f"entity key {_short(value)} has {len(value.encode()):,} bytes; at most {MAX_KEY_BYTES:,} are allowed "
                "(Neo4j's key index refuses long ones)")
    if not value.strip():
        return f"entity key {value!r} is blank"
    return None


def looks_like_header(fields: list[str]) -> bool:
    """True if a first row reads like column names (``head relation tail``, ``subject
    predicate object`` ...)."""
    return len(fields) == 3 and all(f.strip().lower() in words for f, words in zip(fields, HEADER_WORDS))
