"""Tests of the engine: mail, storage, inbound, outbound, secrets, the worker."""
