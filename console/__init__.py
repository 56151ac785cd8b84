"""Human-facing front ends: the ``ess`` command line and the Textual operations console."""
