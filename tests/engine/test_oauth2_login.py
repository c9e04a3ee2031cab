"""OAuth2 sign-in on the wire: a channel with auth = "oauth2" polls IMAP and POP3 and sends
through SMTP with XOAUTH2 (OAUTHBEARER where the server offers only that), against the suite's
Dovecot and Postfix, which check every token with the suite's OAuth2 server.

Covered: a token the server no longer takes is refreshed once and the login tried again; a
revoked sign-in fails its own channel with the sentence naming `deskterm channel auth` while
a password channel keeps polling; IDLE across a token expiry (the server dropping the
session, and the watcher signing in again before expiry); `channel test`'s token step; no
token in the database or the logs, nor in the environment or arguments of a child process.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from deskterm.channels import tokens
from deskterm.engine.worker import Worker
from deskterm.errors import AuthError
from deskterm.inbound.imap_sync import LOCAL_POOL_THRESHOLD
from deskterm.net import imap as imap_conn
from deskterm.net import pop3 as pop3_conn
from deskterm.net import smtp as smtp_conn
from deskterm.net.login import Credentials
from deskterm.net.tls import Endpoint
from deskterm.secrets.store import open_secret_store
from deskterm.store import connection
from deskterm.store.models import Channel, Conversation, JobRun, Outbox
from tests.conftest import Desk, channel_toml
from tests.engine.test_worker_faults import Running, poll_process, wait_for
from tests.mailfactory import make_mail
from tests.servers.mailservers import MailServers, private_dovecot
from tests.servers.oauth import OAuthServer
from tests.servers.proctree import command_line, descendants, environ

pytestmark = pytest.mark.mailserver

SUPPORT = "support@desk.test"
CUSTOMER = "customer@desk.test"
SINK = "sink@desk.test"


def oauth_toml(servers: MailServers, oauth: OAuthServer, name: str = "support", **kw) -> str:
    """A channel file for the suite's servers whose sides sign in with the suite's OAuth2
    server (provider generic, both endpoints given)."""
    toml = channel_toml(servers, name, **kw)
    for side in ("inbound", "outbound"):
        toml = toml.replace(f"[{side}]\n", f'[{side}]\nauth = "oauth2"\n')
    return (
        toml
        + f"""
[oauth2]
provider = "generic"
client_id = "{oauth.client_id}"
token_endpoint = "{oauth.token_url()}"
device_endpoint = "{oauth.device_url()}"
scope = "mail offline_access"
"""
    )


def add_oauth_channel(
    desk: Desk,
    servers: MailServers,
    oauth: OAuthServer,
    name: str = "support",
    *,
    user: str | None = None,
    toml: str | None = None,
    **kw,
) -> str:
    """Add the channel, store the client secret and a refresh token issued for `user` (the
    support mailbox by default); returns that refresh token."""
    desk.add_channel(toml or oauth_toml(servers, oauth, name, **kw))
    secret = oauth.client_secret + "\n"
    desk.run("channel", "secret", name, "--client-secret", "--stdin", input=secret)
    refresh_token = oauth.issue(user)
    desk.run("channel", "secret", name, "--refresh-token", "--stdin", input=refresh_token + "\n")
    return refresh_token


def runs(name: str) -> list[JobRun]:
    connection.open_database()
    try:
        return list(
            JobRun.select()
            .join(Channel)
            .where(Channel.name == name, JobRun.kind == "poll")
            .order_by(JobRun.id)
        )
    finally:
        connection.close_database()


def assert_no_token_kept(desk: Desk, oauth: OAuthServer) -> None:
    """No access or refresh token the server ever issued is in the database or a log."""
    state = oauth.state()
    issued = [*state.get("access", {}), *state.get("refresh", {})]
    assert issued
    kept = [desk.home / "desk.sqlite3", *desk.home.glob("*.log*")]
    for path in kept:
        if path.exists():
            data = path.read_bytes()
            assert not [t for t in issued if t.encode() in data], path


# --- polling and sending ------------------------------------------------------------------


def test_an_oauth2_channel_polls_imap_and_sends_with_xoauth2(
    desk: Desk, boxes: MailServers, oauth_server: OAuthServer, tmp_path: Path
) -> None:
    add_oauth_channel(desk, boxes, oauth_server)
    boxes.deliver(make_mail("Signed in with a token", message_id="<t1@customer.example>"), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 1)
    result = desk.run("poll", "--once")
    assert "fetched 1, ingested 1" in result.output
    [row] = desk.json("conversations", "--status", "all")
    assert row["subject"] == "Signed in with a token"

    desk.run("reply", str(row["id"]), "--body-file", "-", input="Sent with XOAUTH2.\n")
    desk.run("send")
    assert desk.json("outbox") == []
    [raw] = boxes.wait_for_messages(CUSTOMER, 1)
    assert b"Sent with XOAUTH2." in raw
    assert len(boxes.messages(SUPPORT, "Sent")) == 1  # the copy, appended over IMAP likewise
    assert "method=XOAUTH2" in (boxes.log_dir / "dovecot.log").read_text(errors="replace")
    assert_no_token_kept(desk, oauth_server)


def test_an_oauth2_channel_polls_pop3(
    desk: Desk, boxes: MailServers, oauth_server: OAuthServer
) -> None:
    add_oauth_channel(desk, boxes, oauth_server, protocol="pop3")
    boxes.deliver(make_mail("Over POP3 with a token"), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 1)
    result = desk.run("poll", "--once")
    assert "fetched 1, ingested 1" in result.output
    [run] = runs("support")
    assert run.error is None


def test_an_expired_token_is_refreshed_and_the_poll_goes_on(
    desk: Desk, boxes: MailServers, oauth_server: OAuthServer
) -> None:
    first = add_oauth_channel(desk, boxes, oauth_server)
    desk.run("poll", "--once")  # an access token is now in this process's memory
    oauth_server.expire_access()  # ... and the server no longer takes it
    boxes.deliver(make_mail("After the expiry"), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 1)
    result = desk.run("poll", "--once")
    assert "fetched 1, ingested 1" in result.output
    assert [run.error for run in runs("support")] == [None, None]
    # Refreshed after the refusal: the rotated refresh token was kept, the first one is spent.
    connection.open_database()
    channel = Channel.get(Channel.name == "support")
    settings = tokens.oauth2_of(channel, "inbound")
    assert settings is not None
    stored = open_secret_store().get(tokens.secret_of(channel, settings, tokens.REFRESH_TOKEN))
    assert stored and stored != first


def stored_refresh_token(name: str) -> str | None:
    """The refresh token the channel's [oauth2] table keeps (the database must be open)."""
    channel = Channel.get(Channel.name == name)
    settings = tokens.oauth2_of(channel, "inbound")
    assert settings is not None
    return open_secret_store().get(tokens.secret_of(channel, settings, tokens.REFRESH_TOKEN))


def test_a_revoked_sign_in_fails_only_its_channel(
    desk: Desk, boxes: MailServers, oauth_server: OAuthServer
) -> None:
    """Revoked consent fails its own channel, pass after pass; a password channel and another
    OAuth2 channel of the same server (another mailbox's sign-in) poll on, the latter's refresh
    token still the live one it was given."""
    refresh_token = add_oauth_channel(desk, boxes, oauth_server)
    oauth_server.revoke(token=refresh_token)  # consent withdrawn: no refresh will work
    password_channel = channel_toml(boxes, "customers").replace(SUPPORT, CUSTOMER)
    desk.add_channel(password_channel, inbound=boxes.users[CUSTOMER])
    other_toml = oauth_toml(boxes, oauth_server, "sink").replace(SUPPORT, SINK)
    add_oauth_channel(desk, boxes, oauth_server, "sink", user=SINK, toml=other_toml)
    mail = make_mail("For the password channel", sender="Jo <jo@example.com>", to=CUSTOMER)
    boxes.deliver(mail, CUSTOMER)
    boxes.wait_for_messages(CUSTOMER, 1)

    connection.open_database()
    worker = Worker(store=open_secret_store())
    other_tokens = []
    for n in range(2):  # the failing channel does not stop the next pass either
        boxes.deliver(make_mail(f"For the other sign-in {n}", to=SINK), SINK)
        boxes.wait_for_messages(SINK, n + 1)
        done = {run.channel.name: run for run in worker.run_once()}
        assert done["customers"].error is None
        assert done["sink"].error is None
        error = done["support"].error or ""
        assert "run `deskterm channel auth support`" in error
        assert "wrong user name or password" not in error
        assert refresh_token not in error
        other_tokens.append(stored_refresh_token("sink"))
    assert Conversation.select().count() == 3
    sink = Channel.get(Channel.name == "sink")
    assert Conversation.select().where(Conversation.channel == sink).count() == 2
    assert sink.fail_count == 0 and sink.last_error is None
    # Refreshed once (the server rotates), then the access token in memory served: the stored
    # refresh token is the live one, touched by nothing the failing channel did.
    assert other_tokens[0] == other_tokens[1]
    assert other_tokens[0] in oauth_server.state()["refresh"]
    support = Channel.get(Channel.name == "support")
    assert support.fail_count == 2 and support.failing_since is not None
    assert "deskterm channel auth support" in (support.last_error or "")
    assert Channel.get(Channel.name == "customers").last_ok_at is not None
    worker.close()


def test_an_expired_client_secret_fails_only_its_channel(
    desk: Desk, boxes: MailServers, oauth_server: OAuthServer
) -> None:
    """The provider refuses the app itself (invalid_client: its client secret expired): that
    channel fails with the sentence naming `deskterm channel auth`, the other OAuth2 channel
    of the same server polls on."""
    add_oauth_channel(desk, boxes, oauth_server)
    expired = "an-expired-client-secret\n"
    desk.run("channel", "secret", "support", "--client-secret", "--stdin", input=expired)
    other_toml = oauth_toml(boxes, oauth_server, "customers").replace(SUPPORT, CUSTOMER)
    add_oauth_channel(desk, boxes, oauth_server, "customers", user=CUSTOMER, toml=other_toml)
    boxes.deliver(make_mail("Still served", sender="Jo <jo@example.com>", to=CUSTOMER), CUSTOMER)
    boxes.wait_for_messages(CUSTOMER, 1)

    connection.open_database()
    worker = Worker(store=open_secret_store())
    for _ in range(2):
        done = {run.channel.name: run for run in worker.run_once()}
        assert done["customers"].error is None
        error = done["support"].error or ""
        assert "invalid_client" in error and "run `deskterm channel auth support`" in error
        assert "an-expired-client-secret" not in error
    assert Conversation.select().count() == 1
    support = Channel.get(Channel.name == "support")
    assert support.fail_count == 2 and "deskterm channel auth support" in support.last_error
    assert Channel.get(Channel.name == "customers").last_ok_at is not None
    worker.close()


def test_a_token_for_another_account_is_an_oauth2_failure_not_a_password_one(
    desk: Desk, boxes: MailServers, oauth_server: OAuthServer
) -> None:
    add_oauth_channel(desk, boxes, oauth_server, user=CUSTOMER)  # signed in as someone else
    result = desk.run("channel", "test", "support", ok=False)
    assert result.exit_code == 1
    assert "FAIL  IMAP login" in result.output
    assert "refused the OAuth2 sign-in for support@desk.test" in result.output
    assert "sign in again with `deskterm channel auth support`" in result.output
    assert "wrong user name or password" not in result.output
    assert "FAIL  SMTP AUTH" in result.output


def test_outbound_refresh_after_a_refused_token_sends(
    desk: Desk, boxes: MailServers, oauth_server: OAuthServer
) -> None:
    add_oauth_channel(desk, boxes, oauth_server)
    boxes.append(SUPPORT, make_mail("Question"))
    desk.run("poll", "--once")
    [row] = desk.json("conversations", "--status", "all")
    desk.run("reply", str(row["id"]), "--body-file", "-", input="Answer\n")
    oauth_server.expire_access()
    desk.run("send")
    boxes.wait_for_messages(CUSTOMER, 1)
    connection.open_database()
    assert Outbox.select().where(Outbox.state == "sent").count() == 1


# --- IDLE across a token expiry -------------------------------------------------------------


def test_idle_signs_in_with_a_fresh_token_after_the_server_dropped_it(
    desk: Desk, boxes: MailServers, oauth_server: OAuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server ends the session once the token is dead (Exchange Online does at expiry;
    here the token is expired and Dovecot restarted): the watcher's next sign-in is refused,
    refreshed, and IDLE brings new mail in again."""
    monkeypatch.setenv("DESKTERM_POLL_INTERVAL", "3600")  # only IDLE can bring mail in time
    add_oauth_channel(desk, boxes, oauth_server)
    connection.open_database()
    with Running() as running:
        wait_for(lambda: running.idle("IDLE connected"), what="IDLE connected")
        oauth_server.expire_access()
        try:
            boxes.stop_dovecot()
        finally:
            boxes.start_dovecot()
        wait_for(lambda: running.idle("IDLE lost:"), what="IDLE lost")
        wait_for(lambda: len(running.idle("IDLE connected")) == 2, what="IDLE signed in again")
        again = running.idle("IDLE connected")[-1].at
        wait_for(lambda: running.runs_after(again), what="the catch-up poll")
        assert all(e.run.error is None for e in running.runs_after(again))
        boxes.deliver(make_mail("After the token expired"), SUPPORT)
        wait_for(lambda: Conversation.select().count() == 1, what="the mail IDLE announced")
        assert Conversation.get().subject == "After the token expired"
    assert_no_token_kept(desk, oauth_server)


def test_idle_renews_its_session_before_the_token_expires(
    desk: Desk, boxes: MailServers, oauth_server: OAuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An IDLE session is let go and signed in again with a refreshed token before the token
    it began with expires: never "lost", whatever the server does at expiry."""
    monkeypatch.setenv("DESKTERM_POLL_INTERVAL", "3600")
    # The suite's tokens last 300 s; with this margin each one is due for a refresh 6 s in.
    monkeypatch.setattr(tokens, "MARGIN", 294.0)
    add_oauth_channel(desk, boxes, oauth_server)
    connection.open_database()
    with Running() as running:
        wait_for(lambda: running.idle("IDLE connected"), what="IDLE connected")
        oauth_server.expire_access()  # the first session's token is dead now
        wait_for(lambda: len(running.idle("IDLE connected")) >= 2, what="IDLE renewed")
        assert not running.idle("IDLE lost")
        boxes.deliver(make_mail("Across the renewal"), SUPPORT)
        wait_for(lambda: Conversation.select().count() == 1, what="the mail")
        assert not running.idle("IDLE lost")


# --- the connection test --------------------------------------------------------------------


def test_channel_test_shows_the_token_step_before_each_login(
    desk: Desk, boxes: MailServers, oauth_server: OAuthServer
) -> None:
    add_oauth_channel(desk, boxes, oauth_server)
    result = desk.run("channel", "test", "support", "--json", ok=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    names = [step["name"] for step in report["steps"]]
    assert names == [
        "IMAP connect",
        "IMAP TLS handshake",
        "IMAP greeting",
        "IMAP OAuth2 token",
        "IMAP login",
        "IMAP folders",
        "SMTP connect",
        "SMTP greeting",
        "SMTP STARTTLS",
        "SMTP OAuth2 token",
        "SMTP AUTH",
    ]
    by_name = {step["name"]: step for step in report["steps"]}
    inbound = by_name["IMAP OAuth2 token"]["detail"]
    assert inbound.startswith("refreshed") and "expires in 5 min" in inbound
    assert "new refresh token, now stored" in inbound  # the suite's server rotates them
    assert by_name["SMTP OAuth2 token"]["detail"].startswith("obtained")
    assert by_name["IMAP login"]["detail"] == f"logged in as {SUPPORT}"
    assert "OAuth2" not in result.stdout.replace("OAuth2 token", "")  # no refusal anywhere
    assert_no_token_kept(desk, oauth_server)


def test_channel_test_gives_microsoft_365_advice(
    desk: Desk, boxes: MailServers, oauth_server: OAuthServer
) -> None:
    toml = oauth_toml(boxes, oauth_server).replace(
        'provider = "generic"', 'provider = "microsoft"\ntenant_id = "organizations"'
    )
    add_oauth_channel(desk, boxes, oauth_server, toml=toml)
    result = desk.run("channel", "test", "support")
    lines = result.stdout.splitlines()
    [warning] = [line for line in lines if line.startswith("WARN")]
    assert "SMTP OAuth2 token" in warning
    assert '"Authenticated SMTP" enabled' in warning
    assert lines[-1] == "All steps passed."


# --- OAUTHBEARER where XOAUTH2 is not offered ------------------------------------------------


@pytest.fixture(scope="module")
def bearer_only(oauth_server: OAuthServer) -> Iterator[MailServers]:
    """A private Dovecot that takes tokens over OAUTHBEARER only (no XOAUTH2), and a Postfix
    authenticating through it, so its submission port offers the same."""

    class BearerOnly(MailServers):
        def __init__(self, state_dir: Path) -> None:
            super().__init__(state_dir, oauth_server.introspection_url())

        def _passdbs(self, users: Path) -> tuple[str, str]:
            mechanisms, passdbs = super()._passdbs(users)
            return mechanisms.replace(" xoauth2", ""), passdbs.replace("xoauth2 ", "")

    with private_dovecot(BearerOnly) as servers:
        servers.start_postfix()
        try:
            yield servers
        finally:
            servers.stop_postfix()


def _endpoint(servers: MailServers, label: str, port: int, security: str = "ssl") -> Endpoint:
    return Endpoint(
        label=label,
        host="127.0.0.1",
        port=port,
        security=security,
        timeout=10,
        allow_self_signed=False,
        tls_ca_file=str(servers.cert_file),
        channel="support",
        side="inbound",
    )


def test_oauthbearer_is_used_where_xoauth2_is_not_offered(
    bearer_only: MailServers, oauth_server: OAuthServer
) -> None:
    token = oauth_server.access_token()
    imap = _endpoint(bearer_only, "IMAP", bearer_only.imaps_port)
    mailbox = imap_conn.connect(imap)
    try:
        assert "AUTH=XOAUTH2" not in mailbox.client.capabilities
        imap_conn.login(mailbox, imap, Credentials(SUPPORT, token, oauth2=True))
        assert mailbox.client.state == "AUTH"
    finally:
        mailbox.logout()
    pop3 = _endpoint(bearer_only, "POP3", bearer_only.pop3s_port)
    client = pop3_conn.connect(pop3)
    try:
        pop3_conn.login(client, pop3, Credentials(SUPPORT, token, oauth2=True))
    finally:
        client.quit()
    log = (bearer_only.log_dir / "dovecot.log").read_text(errors="replace")
    assert "method=OAUTHBEARER" in log
    # A dead token is an OAuth2 failure, with the server's own words.
    client = pop3_conn.connect(pop3)
    try:
        with pytest.raises(AuthError, match=r"refused the OAuth2 sign-in for support@desk\.test"):
            pop3_conn.login(client, pop3, Credentials(SUPPORT, "not-a-token", oauth2=True))
    finally:
        client.close()


def test_smtp_authenticates_with_oauthbearer_where_xoauth2_is_not_offered(
    bearer_only: MailServers, oauth_server: OAuthServer
) -> None:
    """deskterm's own SMTP client (net/smtp) on a submission port whose AUTH offers no
    XOAUTH2: the token goes over OAUTHBEARER, and a dead one is an OAuth2 refusal."""

    async def authenticate(token: str) -> list[str]:
        endpoint = _endpoint(bearer_only, "SMTP", bearer_only.submission_port, "starttls")
        smtp = await smtp_conn.connect(endpoint)
        try:
            await smtp_conn.login(smtp, endpoint, Credentials(SUPPORT, token, oauth2=True))
            return sorted(smtp.server_auth_methods)
        finally:
            smtp.close()

    # Accepted with XOAUTH2 not offered: OAUTHBEARER was the mechanism (Dovecot logs no
    # method for the SASL logins Postfix asks it about).
    offered = asyncio.run(authenticate(oauth_server.access_token()))
    assert "oauthbearer" in offered and "xoauth2" not in offered
    with pytest.raises(AuthError, match=r"OAuth2"):
        asyncio.run(authenticate("not-a-token"))


def test_no_token_reaches_a_child_process(
    desk: Desk, boxes: MailServers, oauth_server: OAuthServer
) -> None:
    """Tokens stay in deskterm's memory and its secret store: neither the environment nor the
    arguments of `deskterm poll` or of any process under it (the parsing pool a first sync of
    a few hundred mails starts) hold one; both are readable through /proc."""
    add_oauth_channel(desk, boxes, oauth_server)
    with boxes.imap(SUPPORT) as conn:
        for i in range(LOCAL_POOL_THRESHOLD + 20):  # enough for the parsing processes to start
            mail = make_mail(f"Order {i}", message_id=f"<order-{i}@customer.example>")
            assert conn.append("INBOX", None, None, mail)[0] == "OK"
    poll = poll_process(desk.home)
    try:
        seen: dict[int, tuple[str, str]] = {}

        def look() -> bool:
            for pid in [poll.pid, *(p.pid for p in descendants(poll.pid))]:
                seen[pid] = (
                    command_line(pid),
                    "\0".join(f"{k}={v}" for k, v in environ(pid).items()),
                )
            connection.open_database()
            try:
                return Conversation.select().count() == LOCAL_POOL_THRESHOLD + 20
            finally:
                connection.close_database()

        wait_for(look, what="the first sync", timeout=120)
    finally:
        poll.terminate()
        poll.wait(timeout=30)
    assert len(seen) > 1, "the parsing processes never showed"
    state = oauth_server.state()
    issued = [*state.get("access", {}), *state.get("refresh", {})]
    assert issued
    for pid, (arguments, environment) in seen.items():
        assert not [t for t in issued if t in arguments or t in environment], pid
