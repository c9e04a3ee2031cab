"""The channel form's connection test (ctrl+t): the same steps as `deskterm channel test`,
run in a thread on the settings as typed (saved or not), each step shown as it ends; part of
ChannelFormScreen. A password the test refused is remembered, so saving it asks first."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from typing import Any

from textual import work
from textual.widgets import Button

from deskterm.channels import check as conntest
from deskterm.channels import registry as channels
from deskterm.net.steps import StepResult
from deskterm.screens.channel_passwords import refused_side
from deskterm.screens.words import tui_words
from deskterm.widgets.step_list import StepList


class ChannelTest:
    """The form's Test (mixed into ChannelFormScreen, whose `Tested` message it posts)."""

    def action_test(self) -> None:
        if self.testing:
            self.notify("The test is still running.", markup=False)
            return
        if self.config is None:
            self.notify(f"Cannot test yet: {self.problem}", severity="error", markup=False)
            return
        self.testing = True
        button = self.query_one("#test", Button)
        button.disabled = True
        button.label = "Testing…"
        unsaved = " (unsaved settings)" if self.original is None or self.dirty else ""
        self.query_one(StepList).clear(f"Connection test of {self.config['name']}{unsaved}:")
        self._test_typed = self.passwords()
        self._refused = {}
        self._run_test(self.config, self.original, self._test_typed)

    @work(
        thread=True,
        exclusive=True,
        group="conntest",
        exit_on_error=False,
        description="testing the connection",
    )
    def _run_test(
        self, config: dict[str, Any], original: str | None, typed: dict[str, str]
    ) -> None:
        trial = None
        ok = False
        try:
            trial = channels.trial(config, original)
            store = channels.TypedPasswords(trial, typed, self.desk.secrets)
            results = conntest.run(trial, store, on_step=lambda r: self._tell(self._step, r))
            ok = bool(results) and all(r.ok for r in results)
        finally:
            self.post_message(self.Tested(trial, ok))

    def _tell(self, callback: Callable[..., None], *args: Any) -> None:
        """From the test's thread: run `callback` on the UI thread, now (each step as it ends)."""
        with contextlib.suppress(RuntimeError):  # the app has stopped
            self.app.call_from_thread(callback, *args)

    def _step(self, result: StepResult) -> None:
        side = refused_side(result)
        if side is not None:
            self._refused[side] = self._test_typed.get(side, "")
        if self.is_attached:
            self.query_one(StepList).add(
                dataclasses.replace(result, detail=tui_words(result.detail))
            )

    def on_channel_form_screen_tested(self, message: Any) -> None:
        self.testing = False
        button = self.query_one("#test", Button)
        button.disabled = False
        button.label = "Test"
        self._tested = message.trial
        steps = self.query_one(StepList)
        steps.finish("All steps passed." if message.ok else "The test failed.", message.ok)
