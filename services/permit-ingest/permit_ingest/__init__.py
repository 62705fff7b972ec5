"""permit-ingest: signed construction-permit webhooks from the approval systems. `api` checks
the sender before the body, `service` validates, stores and stages `permit.issued` and
`permit.amended` on permits.v1; `tables` holds accepted permits and answers per webhook-id."""
