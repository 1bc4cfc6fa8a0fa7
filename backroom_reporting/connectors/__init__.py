"""Connectors to third-party APIs that feed the warehouse beside the booking system
(docs/connectors.md). Each pulls through the provider's own SDK, checks what it gets against a
contract like every source (ingest/validate.py) and lands it idempotently."""
