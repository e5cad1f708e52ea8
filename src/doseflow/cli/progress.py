"""Progress for long work: one line per step, a bar for long loops, a spinner for long calls.

On a terminal a step or a long call shows a Rich spinner while it works and a loop a Rich
progress bar; written to a file or a pipe they become plain lines (a start, an end, a loop's
tenths), so logs stay readable and nothing is overwritten in place. Loops and calls say
nothing when they end within ``after`` seconds (one by default): quick commands stay quiet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console

#: Seconds a loop or a call may take before its progress is shown.
SHOW_AFTER = 1.0

#: Live displays (spinners, bars) running now. Only one is drawn at a time: a spinner or a
#: bar inside another (the demo's step importing the UNICEF file) would fight it for the
#: same terminal lines, so the inner one stays silent on a terminal.
_live = 0


def _enter() -> None:
    global _live
    _live += 1


def _leave() -> None:
    global _live
    _live -= 1


@contextmanager
def _drawing() -> Iterator[None]:
    _enter()
    try:
        yield
    finally:
        _leave()


def _plain(out: Console, text: str) -> None:
    out.print(text, highlight=False, markup=False, soft_wrap=True)


@contextmanager
def step(out: Console, number: int, count: int, title: str) -> Iterator[None]:
    """Say that step ``number`` of ``count`` (``title``) starts, and when it ended."""
    started = time.perf_counter()
    label = f"[{number}/{count}] {title}"
    if out.is_terminal:
        if _live:
            yield
        else:
            with _drawing(), out.status(f"{label}..."):
                yield
    else:
        _plain(out, f"{label}...")
        yield
    _plain(out, f"{label}: done in {time.perf_counter() - started:.1f} s")


@contextmanager
def phase(out: Console, text: str, *, after: float | None = None) -> Iterator[None]:
    """A long call with nothing to count: a spinner on a terminal; otherwise ``text...``
    once it has taken ``after`` seconds (default :data:`SHOW_AFTER`), and ``text: done in
    N s`` when it ends then."""
    if out.is_terminal:
        if _live:
            yield
        else:
            with _drawing(), out.status(f"{text}..."):
                yield
        return
    wait = SHOW_AFTER if after is None else after
    started = time.perf_counter()
    shown = threading.Event()

    def announce() -> None:
        shown.set()
        _plain(out, f"{text}...")

    timer = threading.Timer(wait, announce)
    timer.daemon = True
    if wait <= 0:
        announce()
    else:
        timer.start()
    try:
        yield
    finally:
        timer.cancel()
    if shown.is_set():
        _plain(out, f"{text}: done in {time.perf_counter() - started:.1f} s")


@contextmanager
def loop(
    out: Console, description: str, total: int, *, after: float | None = None
) -> Iterator[Callable[..., None]]:
    """Progress over ``total`` items, shown once ``after`` seconds have passed: a bar on a
    terminal, else a line per tenth. The callable takes how many are done so far (and the
    total, if it changed)."""
    wait = SHOW_AFTER if after is None else after
    started = time.perf_counter()
    state = {"total": total, "tenth": -1}
    bar = None
    task = None
    try:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        def advance(done: int, new_total: int | None = None) -> None:
            nonlocal bar, task
            if new_total is not None:
                state["total"] = new_total
            if time.perf_counter() - started < wait:
                return  # quick so far: nothing to show yet
            if out.is_terminal:
                if _live and bar is None:
                    return  # another display is drawing
                if bar is None:
                    bar = Progress(
                        TextColumn("{task.description}"),
                        BarColumn(),
                        MofNCompleteColumn(),
                        console=out,
                    )
                    bar.start()
                    _enter()
                    task = bar.add_task(description, total=state["total"])
                assert task is not None
                bar.update(task, completed=done, total=state["total"])
                return
            count = state["total"]
            tenth = (10 * done) // count if count else 10
            if tenth > state["tenth"]:
                state["tenth"] = tenth
                _plain(out, f"{description}: {done:,} of {count:,}")

        yield advance
    finally:
        if bar is not None:
            bar.stop()
            _leave()
