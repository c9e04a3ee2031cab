"""The thread says why a conversation was routed (issue 16): a line under the message header
names the rule and what it did, drawn as text (a tag from a rule file is never markup)."""

from __future__ import annotations

from textual.pilot import Pilot

from deskterm.app import DeskApp
from deskterm.desk.rules import rulebook, rulefile
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.prepare import prepare_batch
from deskterm.inbound.stages import Fetched
from deskterm.store.models import Channel
from deskterm.widgets.message_view import MessageView
from tests.mailfactory import make_mail
from tests.tui.test_app import drive, screen_text
from tests.tui.test_app_notes import assert_inert, views
from tests.tui.test_app_thread_moves import open_thread

RULES = (
    """
    name = "billing"
    [when]
    subject = "invoice"
    [then]
    priority = "high"
    tags = ["[@click=app.quit]q"]
    assign = "sam"
    """,
    """
    name = "gone"
    [then]
    assign = "kim"
    """,
)


def routed_conversation() -> int:
    """Two rules on the demo desk, then a new mail through the pipeline: the first rule
    routes it, the second fails (its agent left after it was saved)."""
    from deskterm.desk import agents

    for text in RULES:
        rulebook.add(rulefile.parse_text(text))
    agents.remove("kim")
    item = Fetched("900", make_mail("Invoice 7 is wrong", "Ann <ann@customer.example>"))
    prepare_batch([item], None, 100_000, 1024)()
    [outcome] = Ingestor(Channel.get(Channel.name == "demo")).apply([item], "INBOX", "1")
    assert outcome.conversation_id is not None
    return outcome.conversation_id


def test_the_thread_shows_which_rule_routed_the_conversation(demo_desk: None) -> None:
    conversation_id = routed_conversation()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        await open_thread(pilot, conversation_id)
        [view] = views(app)
        assert isinstance(view, MessageView)
        lines = str(view.render()).split("\n")
        assert lines[1] == (
            "Routed by rule 'billing': priority high, tagged [@click=app.quit]q, assigned to sam"
        )
        assert lines[2] == (
            "Rule 'gone' matched but failed: kim is no longer an agent; edit the rule; "
            "nothing of it was applied"
        )
        assert "Routed by rule 'billing'" in screen_text(app)
        assert_inert(app)

    drive(scenario, size=(120, 40))
