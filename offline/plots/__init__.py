"""Figures the offline pipeline writes (PNG, matplotlib's Agg backend, nothing shown)."""
