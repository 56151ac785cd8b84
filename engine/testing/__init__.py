"""Doubles and fixtures for tests, demos and benchmarks: an in-memory source and target that
honour the engine's protocols, a tiny synthetic snapshot, and a scenario journal for front
ends. Installed with the engine so that the CLI's tests and `ess` itself can use them."""
