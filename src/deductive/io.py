"""Crash-safe file writing and JSON Lines helpers shared by every stage.

Rules: a finished output file appears atomically (write to a temporary file in the same folder,
fsync, rename), so a killed run never leaves a half file under the final name. Long outputs are
JSON Lines appended record by record; a reader ignores a torn last line, and `JsonlAppender`
cuts it off before appending, so a rerun resumes where the previous one stopped.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator


def dumps_canonical(obj: Any) -> str:
    """One deterministic JSON text for `obj` (sorted keys, no NaN surprises, UTF-8)."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8"):
    """Open a temporary sibling of `path`; on clean exit fsync and rename it onto `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    binary = "b" in mode
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w") as handle:
        handle.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb", encoding=None) as handle:
        handle.write(data)


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> None:
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, indent=indent, allow_nan=False)
    atomic_write_text(path, text + "\n")


def write_jsonl(path: str | os.PathLike, records: Iterable[dict]) -> None:
    """Write a whole JSON Lines file atomically (gzip when the name ends in .gz, with mtime 0)."""
    path = Path(path)
    if path.suffix == ".gz":
        with atomic_open(path, "wb", encoding=None) as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
                for record in records:
                    gz.write((dumps_canonical(record) + "\n").encode("utf-8"))
        return
    with atomic_open(path, "w") as handle:
        for record in records:
            handle.write(dumps_canonical(record) + "\n")


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    return list(iter_jsonl(path))


def iter_jsonl(path: str | os.PathLike) -> Iterator[dict]:
    """Yield the complete records of a JSON Lines file (plain or .gz); a torn last line is skipped."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    complete, tail = lines[:-1], lines[-1]
    for number, line in enumerate(complete, 1):
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
    if tail.strip():
        # A last line without newline is complete only if it parses; an appender killed
        # mid-write leaves a torn line, which is treated as never written.
        try:
            yield json.loads(tail)
        except json.JSONDecodeError:
            return


class JsonlAppender:
    """Append records to a JSON Lines file one by one, durable after each `flush()`.

    Opening an existing file first truncates a torn last line (left by a killed writer), so
    the records already complete are kept and the run continues after them.
    """

    def __init__(self, path: str | os.PathLike, fsync_every: int = 1):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_tail()
        self._handle = open(self.path, "a", encoding="utf-8")
        self._fsync_every = max(1, fsync_every)
        self._pending = 0

    def _repair_tail(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if not data or data.endswith(b"\n"):
            return
        cut = data.rfind(b"\n") + 1
        tail = data[cut:]
        try:
            json.loads(tail.decode("utf-8"))
            with open(self.path, "ab") as handle:  # complete record that only lacks its newline
                handle.write(b"\n")
        except (UnicodeDecodeError, json.JSONDecodeError):
            with open(self.path, "r+b") as handle:
                handle.truncate(cut)

    def write(self, record: dict) -> None:
        self._handle.write(dumps_canonical(record) + "\n")
        self._pending += 1
        if self._pending >= self._fsync_every:
            self.flush()

    def flush(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._pending = 0

    def close(self) -> None:
        if not self._handle.closed:
            self.flush()
            self._handle.close()

    def __enter__(self) -> "JsonlAppender":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_json_object(path: str | Path, error: type[Exception] = ValueError) -> dict:
    """A JSON file holding one object; `error` (naming the file) when it is not valid JSON or not
    an object."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise error(f"{path}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise error(f"{path}: expected a JSON object")
    return data
