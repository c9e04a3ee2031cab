"""The connection test as it runs: one line per step, PASS or FAIL, its time and what it found.

Details are server text (greetings, refusals, certificate names), so they are shown as
`Content` built from sanitised strings, never as markup.
"""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from deskterm.net.steps import StepResult
from deskterm.sanitize import one_line


def step_line(result: StepResult) -> Content:
    """`PASS  IMAP login   12 ms  Logged in as ...`, like `deskterm channel test` prints it."""
    mark = ("PASS", "bold $success") if result.ok else ("FAIL", "bold $error")
    parts: list[str | tuple[str, str]] = [
        mark,
        f"  {one_line(result.name):<18} {result.seconds * 1000:6.0f} ms  ",
        one_line(result.detail),
    ]
    if result.warning:
        parts += ["\n", ("WARN", "bold $warning"), f"  {one_line(result.warning)}"]
    return Content.assemble(*parts)


class StepList(VerticalScroll):
    """Steps appended as the test reports them.

    Every step is shown where the screen has room (the list grows up to most of it); where
    it has not, the newest step stays in view until one fails, and from then on the failed
    step does (highlighted), as it is the line the test was run to find.
    """

    DEFAULT_CSS = """
    StepList { height: auto; max-height: 70%; padding: 0 1; background: $boost; }
    StepList.-empty { display: none; }
    StepList > Static { width: 1fr; }
    StepList > .-failed { background: $error 25%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="-empty")
        self.results: list[StepResult] = []
        self.verdict = ""

    def clear(self, heading: str) -> None:
        self.results = []
        self.verdict = ""
        self.remove_children()
        self.mount(Static(Content(heading), classes="heading"))
        self.remove_class("-empty")

    def add(self, result: StepResult) -> None:
        self.results.append(result)
        line = Static(step_line(result), classes="" if result.ok else "-failed")
        self.mount(line)
        self._keep_in_view()

    def finish(self, verdict: str, ok: bool) -> None:
        self.verdict = verdict
        self.mount(Static(Content.styled(verdict, "bold $success" if ok else "bold $error")))
        self._keep_in_view()

    def _keep_in_view(self) -> None:
        """The first failed step at the top once there is one, else the newest line."""
        failed = self.query(".-failed")
        if failed:
            self.call_after_refresh(self.scroll_to_widget, failed.first(), animate=False, top=True)
        else:
            self.call_after_refresh(self.scroll_end, animate=False)

    @property
    def text(self) -> str:
        """Everything shown, as plain text (what tests and screen readers look at)."""
        return "\n".join(str(child.content) for child in self.query(Static))
