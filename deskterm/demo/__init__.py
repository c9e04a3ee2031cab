"""The demo desk and its mail."""
