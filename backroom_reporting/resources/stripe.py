"""Stripe's API as a Dagster resource (docs/connectors.md, "Stripe"): the key and the address by
`EnvVar`, resolved when a run starts; the SDK is imported then, not when the code location loads."""

from __future__ import annotations

import dagster as dg


class StripeResource(dg.ConfigurableResource):
    """A Stripe client: 5xx answers and dropped connections retried by the SDK, 429s by the pull."""

    api_key: str
    base_url: str | None = None  # Stripe's own when None; the tests' loopback server otherwise
    max_network_retries: int = 3
    rate_limit_retries: int = 5
    # The first wait after a 429 without Retry-After; each next one doubles.
    rate_limit_wait_seconds: float = 1.0

    def client(self):
        from backroom_reporting.connectors.stripe import client

        return client(self.api_key, self.base_url, self.max_network_retries)
