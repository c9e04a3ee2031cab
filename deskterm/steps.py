"""Timed steps of a connection, reported as they complete.

The connection test (CLI and the UI's Test button) shows each step with its time the moment
it ends; the worker passes no reporter and the same code runs silently.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from deskterm.tls import Endpoint, explain


@dataclass
class StepResult:
    name: str
    ok: bool
    seconds: float
    detail: str = ""
    warning: str = ""


@dataclass
class Step:
    """Handed to the body of a step so it can say what it found."""

    detail: str = ""
    warning: str = ""


@dataclass
class Steps:
    on_step: Callable[[StepResult], None] | None = None
    results: list[StepResult] = field(default_factory=list)

    @contextmanager
    def step(self, name: str, endpoint: Endpoint) -> Iterator[Step]:
        """Time the body; a failure is recorded and re-raised as the user-facing sentence."""
        found = Step()
        start = time.perf_counter()
        try:
            yield found
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
                raise
            error = explain(exc, endpoint)
            self.record(
                StepResult(
                    f"{endpoint.label} {name}", False, time.perf_counter() - start, str(error)
                )
            )
            if error is exc:
                raise
            raise error from None
        self.record(
            StepResult(
                f"{endpoint.label} {name}",
                True,
                time.perf_counter() - start,
                found.detail,
                found.warning,
            )
        )

    def record(self, result: StepResult) -> None:
        self.results.append(result)
        if self.on_step:
            self.on_step(result)
