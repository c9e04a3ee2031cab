"""Where passwords live: the system keyring or deskterm's own encrypted vault."""
