"""Integrations with web frameworks (each imports its framework; the core never does)."""
