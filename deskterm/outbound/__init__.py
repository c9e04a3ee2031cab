"""Mail leaving the desk: the outbox queue and its delivery, drafts, notifications."""
