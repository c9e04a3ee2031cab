"""Pure email: bytes in, data out. Knows nothing of servers, the database or the desk."""
