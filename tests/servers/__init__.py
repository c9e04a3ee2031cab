"""The real Dovecot, Postfix and PostgreSQL the suite starts, and their own tests."""
