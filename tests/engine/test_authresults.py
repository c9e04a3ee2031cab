"""Authentication-Results as deskterm reads them (RFC 8601): only the named server's verdict."""

from __future__ import annotations

import pytest

from deskterm.mail.authresults import sender_verified

pytestmark = pytest.mark.without_database


@pytest.mark.parametrize(
    ("header", "verified"),
    [
        ("mx.example.net; dmarc=pass header.from=customer.example", True),
        ("mx.example.net 1; dmarc=pass (p=reject) header.from=customer.example", True),
        (
            "mx.example.net; spf=pass smtp.mailfrom=x.example; dkim=pass header.d=customer.example",
            True,
        ),
        ("mx.example.net; dkim=pass header.d=mail.customer.example", False),  # not aligned
        ("mx.example.net; dkim=pass header.i=@customer.example", True),
        ("mx.example.net; dkim=pass header.d=example", False),  # a top-level domain is no signer
        ("mx.example.net; spf=pass smtp.mailfrom=customer.example", False),  # SPF is not From
        ("mx.example.net; dmarc=fail header.from=customer.example", False),
        ("mx.example.net; dmarc=pass header.from=elsewhere.example", False),
        ("evil.example; dmarc=pass header.from=customer.example", False),  # another server
        ("mx.example.net (dmarc=pass); none", False),  # a comment is not a result
        ("mx.example.net; none", False),
        ("", False),
        (None, False),
    ],
)
def test_only_the_named_servers_pass_for_the_from_domain_counts(
    header: str | None, verified: bool
) -> None:
    assert sender_verified(header, "mx.example.net", "customer.example") is verified


def test_a_parent_domain_signature_is_aligned_with_a_subdomain_from() -> None:
    header = "mx.example.net; dkim=pass header.d=customer.example"
    assert sender_verified(header, "mx.example.net", "mail.customer.example")
