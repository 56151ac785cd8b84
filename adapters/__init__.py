"""Adapters: one folder per external system (client, mapping, sandbox)."""
