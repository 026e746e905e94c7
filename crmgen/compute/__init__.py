"""Compute stage: lookups, formulas and rollups; the formula language (``expr``)."""
