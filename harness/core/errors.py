"""One-line error messages: what every failed row, availability reason and command-line error shows."""

from __future__ import annotations


def one_line(value: object, *, with_type: bool = False, limit: int | None = None) -> str:
    """``value`` (text or an exception) on one line, whitespace runs collapsed.

    An exception without a message gives its type name; ``with_type`` prefixes the type name
    (``"ValueError: bad size"``) where the type says something the message does not. ``limit`` keeps the
    first ``limit`` characters.
    """
    text = " ".join(str(value).split())
    if isinstance(value, BaseException):
        name = type(value).__name__
        text = f"{name}: {text}" if text and with_type else text or name
    return text[:limit] if limit is not None else text
