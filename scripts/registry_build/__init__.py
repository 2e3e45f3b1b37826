"""Helpers for scripts/build_registry.py: one module per public data source."""
