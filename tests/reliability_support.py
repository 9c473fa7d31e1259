"""A fork server for crash tests: the test process has imported everything, so a child costs a fork.

``fork_call(fn)`` forks a child that runs ``fn()`` and is SIGKILLed either by a failpoint armed in
the child (``hub.failpoints``, set after the fork: the module reads its environment at import) or
by the parent after a delay. The parent must hold no open database connection when it forks: its
checks open an engine, read and dispose it (``tests.helpers.table_rows``), and every child opens
its own engine. Children never return into pytest: they leave with ``os._exit``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hub import failpoints
from tests.helpers import REPO

KILLED = "killed"
# Kill points per flow and backend in CI (``pytest``); the ``slow`` variants run 1,000.
CI_KILLS = int(os.environ.get("CUSTHUB_CRASH_KILLS", "200"))


def _arm(spec: str | None) -> None:
    failpoints._ARMED.clear()
    failpoints._hits.clear()
    os.environ.pop("CUSTHUB_FAILPOINT", None)
    if spec:
        os.environ["CUSTHUB_FAILPOINT"] = spec
        failpoints._ARMED.update(failpoints._armed())


def _child(fn: Callable[[], object], failpoint: str | None, log: Path | None) -> None:
    """The child's side of a fork: output to ``log``, failpoints armed, ``fn()``, then ``os._exit``."""
    code = 1
    try:
        if log is not None:
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            sys.stdout = sys.stderr = open(fd, "w", buffering=1, closefd=False)  # noqa: SIM115
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _arm(failpoint)
        fn()
        code = 0
    except BaseException:  # report, never unwind into the parent's pytest
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def fork_call(fn: Callable[[], object], *, failpoint: str | None = None, kill_after: float | None = None,
              log: Path | None = None, timeout: float = 120.0) -> str:
    """Run ``fn`` in a forked child; returns "killed", "ok" or "exit N" (the child's exit code)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        _child(fn, failpoint, log)
    deadline = time.monotonic() + timeout
    kill_at = time.monotonic() + kill_after if kill_after is not None else None
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        now = time.monotonic()
        if (kill_at is not None and now >= kill_at) or now >= deadline:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            if now >= deadline and (kill_at is None or now < kill_at):
                raise AssertionError(f"child {pid} hung for {timeout}s")
            break
        time.sleep(0.002)
    if os.WIFSIGNALED(status):
        return KILLED if os.WTERMSIG(status) == signal.SIGKILL else f"signal {os.WTERMSIG(status)}"
    code = os.WEXITSTATUS(status)
    return "ok" if code == 0 else f"exit {code}"


def spawn(fn: Callable[[], object], *, log: Path | None = None) -> int:
    """Fork a child that runs ``fn`` and return its pid at once (reap it with ``os.waitpid``)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    _child(fn, None, log)


def kill(pid: int) -> bool:
    """SIGKILL ``pid`` and reap it; True when it was still running."""
    done, _ = os.waitpid(pid, os.WNOHANG)
    if done:
        return False
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return True


@dataclass
class KillTally:
    """Kill points run in one flow: by failpoint name (hits counted as (name, N) pairs) and by timer."""

    flow: str
    backend: str
    by_point: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)

    def record(self, point: str, outcome: str) -> None:
        self.outcomes[outcome] += 1
        if outcome == KILLED:
            self.by_point[point.split(":")[0]] += 1

    @property
    def kills(self) -> int:
        return sum(self.by_point.values())

    def line(self) -> str:
        points = ", ".join(f"{k}={v}" for k, v in sorted(self.by_point.items()))
        return f"KILLPOINTS flow={self.flow} backend={self.backend} total={self.kills} ({points})"


def report(capsys, tally: KillTally) -> None:
    """Print the tally past pytest's capture, so CI logs show it, and append it to $CUSTHUB_KILL_REPORT."""
    with capsys.disabled():
        print("\n" + tally.line())
    target = os.environ.get("CUSTHUB_KILL_REPORT")
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(tally.line() + "\n")


def available_failpoints(*names: str) -> list[str]:
    """The failpoints among ``names`` that the code calls today (the others are skipped, not faked)."""
    source = "\n".join(p.read_text("utf-8") for p in (REPO / "hub").rglob("*.py"))
    return [n for n in names if f'failpoint("{n}")' in source]


def backend_of(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"
