"""Talking to mail servers (TLS, IMAP, POP3, SMTP) with no idea of conversations."""
