"""The timed steps of a connection (deskterm/net/steps.py): what a failure becomes."""

from __future__ import annotations

import asyncio

import pytest

from deskterm.errors import DeskError
from deskterm.net.steps import Steps
from deskterm.net.tls import Endpoint

pytestmark = pytest.mark.without_database

ENDPOINT = Endpoint("SMTP", "127.0.0.1", 9, "starttls")


def test_a_network_failure_becomes_the_steps_sentence() -> None:
    steps = Steps()
    with (
        pytest.raises(DeskError, match="refused; check the host and port"),
        steps.step("connect", ENDPOINT),
    ):
        raise ConnectionRefusedError
    [result] = steps.results
    assert not result.ok and "was refused" in result.detail


def test_a_cancelled_task_stays_cancelled() -> None:
    """An SMTP step cancelled by asyncio is a cancellation, not a failed step."""
    steps = Steps()

    async def step() -> None:
        with steps.step("AUTH", ENDPOINT):
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(step())
    assert steps.results == []
