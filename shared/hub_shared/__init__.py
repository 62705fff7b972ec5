"""hub_shared: what every service of the hub shares and no business rule: settings, the
clock, logs and metrics at the top; events and Kafka (`messaging`), databases and
transactions (`storage`), the HTTP edge (`web`), identifiers and code lists (`domain`),
import jobs, the audit trail and tracing."""
