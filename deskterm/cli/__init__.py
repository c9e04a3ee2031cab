"""The `deskterm` command, the top layer: one module per noun."""
