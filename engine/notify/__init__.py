"""Notifications: telling people that a plan is held or a run failed, with nobody watching.

A run's end writes a notice to the journal's outbox in the same transaction as its status
(:meth:`engine.journal.Journal.update_run`); the courier (:mod:`engine.notify.courier`) later
delivers it to each channel of the tenant (:mod:`engine.notify.channels`), at least once, with
an idempotency key per notice and channel, retrying with backoff.
"""
