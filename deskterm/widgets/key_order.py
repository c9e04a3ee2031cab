"""Keys are handled in the order they were typed: a workaround for Textual 8.2.8 (#6605).

Why: the App hands a key to the focused widget's message queue. A printable character is
handled there at once (`Input._on_key`, `TextArea._on_key` insert it and stop it), but an
editing key the widget has in its BINDINGS (Backspace, ←/→, Home/End, ctrl+k…) is not: it
bubbles up, one queue per ancestor, and its binding runs only when it is back in the App
(`App._on_key` → `_check_bindings`). When several keys come in one read of the terminal (fast
typing, SSH latency, a busy app), the characters typed after the editing key are inserted
before it applies: in the search `paxx⌫⌫ss` searches "paxx", `ab←c` gives "abc", and a
customer receives the wrong text. docs/textual-typeahead.md has the upstream report;
tests/tui/test_typeahead.py shows it through a real terminal.

How: `KeyOrderApp` lets one key (or paste) into the widgets at a time and holds the ones
typed after it. Once a key is forwarded, a callback is queued behind it on the widget that
has it; when that callback runs the widget has handled the key, so the key either stopped
there or waits in the parent's queue, where the next callback follows it, up to the App. Then
the next held key goes in. (Each callback reports back through the App's queue: the held
keys are only touched on the App's task.) Keys taken by a priority binding never leave the
App and need no wait. Should the key's way be lost (its widget removed before the callback
ran), the held keys go in after `KEY_STALL` seconds at most: nothing typed is ever dropped,
only ordered as Textual alone would. Mouse events are not held.

Remove when: the Textual in use runs a widget's bindings in order with typed characters
(Textualize/textual#6605 fixed; #6631 proposes it): take `KeyOrderApp` out of `DeskApp`'s
bases and check that tests/tui/test_typeahead.py still passes.
"""

from __future__ import annotations

from collections import deque
from typing import Any, ClassVar

from textual import events
from textual.app import App, ReturnType
from textual.message_pump import MessagePump
from textual.timer import Timer

HeldEvent = events.Key | events.Paste


class KeyOrderApp(App[ReturnType]):
    """An App whose keys and pastes reach the widgets one after the other (see the module)."""

    KEY_STALL: ClassVar[float] = 0.25  # seconds a lost key holds up the keys typed after it

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._typed: deque[HeldEvent] = deque()  # received, not yet let into the widgets
        self._in_flight: HeldEvent | None = None  # let in, not yet handled
        self._holder: MessagePump | None = None  # whose queue the key in flight is in
        self._stall: Timer | None = None

    async def on_event(self, event: events.Event) -> None:
        if not isinstance(event, HeldEvent) or event.is_forwarded:
            await super().on_event(event)  # keys coming back up (bubbling) are handled as ever
            return
        self._typed.append(event)
        if self._in_flight is not None and self._lost():
            self._in_flight = None
        if self._in_flight is None:
            await self._let_in()
        elif self._stall is None:
            self._stall = self.set_timer(self.KEY_STALL, self._stalled)

    async def _let_in(self) -> None:
        """Let the held keys in, oldest first, until one stays in flight."""
        while self._in_flight is None and self._typed:
            event = self._typed.popleft()
            await super().on_event(event)
            if event.is_forwarded:  # not taken by a priority binding in the App
                self._in_flight = event
                await self._follow(event, self.focused or self.screen)
        if self._stall is not None:
            self._stall.stop()
            self._stall = None
        if self._in_flight is not None and self._typed:  # a new key in flight: a new wait
            self._stall = self.set_timer(self.KEY_STALL, self._stalled)

    async def _follow(self, event: HeldEvent, node: MessagePump) -> None:
        """Queue a callback behind `event` on `node`, which has it in its queue; the callback
        hands `_handled` to the App's queue, so the held keys only ever move on its task."""
        self._holder = node
        if not node.call_later(self.call_later, self._handled, event, node):  # node is closing
            await self._done(event)

    async def _handled(self, event: HeldEvent, node: MessagePump) -> None:
        """`node` has handled `event`: it stopped, or it is in the next node's queue."""
        if event is not self._in_flight:
            return  # given up on after KEY_STALL
        parent = node._parent
        if node is self or parent is None or event._stop_propagation:
            await self._done(event)
        else:
            await self._follow(event, parent)

    async def _done(self, event: HeldEvent) -> None:
        if event is self._in_flight:
            self._in_flight = self._holder = None
            await self._let_in()

    def _lost(self) -> bool:
        holder = self._holder
        return holder is not None and (holder._closing or holder._closed)

    def _stalled(self) -> None:
        """Runs on the timer's task: give up on the key in flight from the App's own queue."""
        self._stall = None
        if self._in_flight is not None:
            self.call_later(self._done, self._in_flight)
