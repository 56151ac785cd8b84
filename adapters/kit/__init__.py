"""The adapter kit: what every adapter folder shares.

An adapter (``adapters/<system>/``) is built from two things only: the engine's protocols and
model, and this kit. It never imports a sibling adapter; what two adapters would otherwise copy
from each other lives here instead, once. import-linter checks both arrows.

- :mod:`adapters.kit.sandbox`: the parts of a local emulator (a *sandbox*) served over real
  HTTP(S) on loopback for tests, the demo and benchmarks: throw-away TLS, the server thread,
  the token endpoint, throttling, latency and fault injection, the settings and inspection
  endpoints, and the time scale.
"""
