"""The one way definitions are read: TOML files parsed and checked with one-line errors naming the file
and the key (codec definitions, dataset definitions, published-sources files)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from harness.core.errors import one_line


class TomlReader:
    """Reads one TOML file and gives typed access to its tables; every problem is ``error`` with one line
    ``"<file>: <what is wrong>"``."""

    def __init__(self, path: str | Path, error: type[Exception] = ValueError) -> None:
        self.path = Path(path)
        self.error = error
        self.raw = b""

    def fail(self, message: str) -> Exception:
        return self.error(f"{self.path}: {one_line(message)}")

    def read(self) -> dict[str, Any]:
        """The parsed document (the bytes read are kept in ``raw``)."""
        try:
            self.raw = self.path.read_bytes()
        except OSError as exc:
            raise self.fail(f"cannot read file ({exc.strerror or exc})") from None
        try:
            return tomllib.loads(self.raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise self.fail(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except tomllib.TOMLDecodeError as exc:
            raise self.fail(f"invalid TOML: {exc}") from None

    def get(self, table: dict, key: str, kind: type | tuple[type, ...], where: str = "", default: Any = ...) -> Any:
        if key not in table:
            if default is ...:
                raise self.fail(f"missing key {where}{key}")
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.fail(f"{where}{key} must be {kinds[0].__name__}, not a boolean")
        if not isinstance(value, kinds):
            raise self.fail(f"{where}{key} must be {' or '.join(k.__name__ for k in kinds)}, "
                            f"not {type(value).__name__}")
        return value

    def strings(self, table: dict, key: str, where: str = "", default: Any = ...) -> tuple[str, ...] | None:
        value = self.get(table, key, (list, str), where, default)
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not all(isinstance(v, str) for v in value):
            raise self.fail(f"{where}{key} must be a list of strings")
        return tuple(value)

    def table(self, table: dict, key: str, where: str = "", required: bool = False) -> dict:
        if key not in table:
            if required:
                raise self.fail(f"missing table [{where}{key}]")
            return {}
        value = table[key]
        if not isinstance(value, dict):
            raise self.fail(f"{where}{key} must be a table")
        return value

    def tables(self, table: dict, key: str, where: str = "") -> list[dict]:
        """An array of tables (``[[key]]``); empty when absent."""
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(f"{where}{key} must be an array of tables ([[{key}]])")
        return value

    def check_keys(self, table: dict, allowed: set[str], where: str = "") -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise self.fail(f"unknown key {where}{unknown[0]} (allowed: {', '.join(sorted(allowed))})")
