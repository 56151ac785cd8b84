"""Microsoft 365 Education target: Graph client, mapping and a local sandbox."""
