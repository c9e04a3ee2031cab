"""The worker that runs channels: poll loop, IDLE, the parsing pool, the desk lock."""
