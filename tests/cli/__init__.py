"""Tests of the `deskterm` command as admins and scripts use it."""
