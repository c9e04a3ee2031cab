"""One channel: its settings, the registry of channels, and the connection check."""
