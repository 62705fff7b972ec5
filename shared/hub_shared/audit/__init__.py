"""The exchange audit trail, the same in every service: an append-only, hash-chained log
of who exchanged what and when (tables), recorded by a middleware and by the services'
own calls (trail), its head published on audit.v1, read back by `GET /v1/audit` (api)
and verified by `hub audit verify` (chain)."""
