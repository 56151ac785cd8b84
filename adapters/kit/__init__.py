"""The adapter kit: what every adapter folder shares.

An adapter (``adapters/<system>/``) is built from two things only: the engine's protocols and
model, and this kit. It never imports a sibling adapter; what two adapters would otherwise copy
from each other lives here instead, once. import-linter checks both arrows.

- :mod:`adapters.kit.http`: the one HTTP client (timeouts, TLS, proxies, a fresh token after a
  401, and retries of only what is safe to send twice), with :mod:`adapters.kit.retry` (the
  backoff rule) and :mod:`adapters.kit.tls` (trusted CAs, client certificates).
- :mod:`adapters.kit.naming` and :mod:`adapters.kit.schoolyear`: folding names, templates,
  unique names in linear time, short ids, pseudonyms, and the Swedish school year.
- :mod:`adapters.kit.sandbox`: the parts of a local emulator (a *sandbox*) served over real
  HTTP(S) on loopback for tests, the demo and benchmarks: throw-away TLS, the server thread,
  the token endpoint, throttling, latency and fault injection, the settings and inspection
  endpoints, and the time scale.
- :mod:`adapters.kit.scripted`: a scripted HTTP server for tests of a client.
- :mod:`adapters.kit.source_config`, :mod:`adapters.kit.export_source`,
  :mod:`adapters.kit.exports` and :mod:`adapters.kit.sample_snapshot`: a source's table, the
  frame and files of an export source, and the sample generators' one municipality.
- :mod:`adapters.kit.token_cache`: a client-credentials token kept until shortly before it
  expires; :mod:`adapters.kit.dates`: an ISO day as sources write it.
- :mod:`adapters.kit.membership_runs`: a source's memberships gathered by group and handed to
  the snapshot as runs (a class's pupils as their ids alone).
"""
