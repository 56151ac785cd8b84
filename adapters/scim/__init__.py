"""SCIM 2.0 target (RFC 7643/7644) with two profiles: ``core`` and the EGIL school profile."""
