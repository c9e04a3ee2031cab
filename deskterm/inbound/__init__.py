"""Mail arriving: parse, ingest (dedup, filters, threading), IMAP and POP3 sync."""
