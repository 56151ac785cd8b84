"""Deterministic synthetic municipalities as SS 12000:2020 JSON, and their term-by-term change."""
