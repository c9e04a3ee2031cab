"""Tests of the Textual UI, through run_test()/Pilot and SVG snapshots."""
