"""Offline pipeline stages: pure functions over typed inputs (see offline/types.py)."""
