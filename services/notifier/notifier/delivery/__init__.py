"""Webhook delivery to offices: the durable queue (`store`), one signed POST (`attempt`),
the worker with its per-office pipeline, leases and circuit breaker (`worker`, `pipeline`,
`leases`, `breaker`), retry rules (`schedule`), endpoint health and the delivery log."""
