"""Progress lines for long runs: items done, rate, time left; and a one-line summary at the end."""

from __future__ import annotations

import sys
import time


def _fmt_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


class Progress:
    """Prints `label: done/total (rate/s, ETA)` to stderr at most every `interval` seconds."""

    def __init__(self, total: int, label: str, unit: str = "items", interval: float = 5.0,
                 already_done: int = 0, stream=None):
        self.total = total
        self.label = label
        self.unit = unit
        self.interval = interval
        self.done = already_done
        self._start_done = already_done
        self._start = time.monotonic()
        self._last = 0.0
        self._stream = stream or sys.stderr

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= self.interval or self.done >= self.total:
            self._last = now
            self._print(now)

    def _print(self, now: float) -> None:
        elapsed = now - self._start
        new = self.done - self._start_done
        rate = new / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        eta = _fmt_seconds(left) if left == left else "?"
        print(f"{self.label}: {self.done}/{self.total} {self.unit} ({rate:.2f}/s, "
              f"elapsed {_fmt_seconds(elapsed)}, left {eta})", file=self._stream, flush=True)

    def summary(self, extra: str = "") -> str:
        elapsed = time.monotonic() - self._start
        new = self.done - self._start_done
        resumed = f", {self._start_done} resumed" if self._start_done else ""
        line = (f"{self.label}: done, {self.done}/{self.total} {self.unit} "
                f"({new} new{resumed}) in {_fmt_seconds(elapsed)}")
        return f"{line}; {extra}" if extra else line
