"""Renderers: pure functions from plain values (Plan, drift report) to strings."""
