"""notifier: alerts by division for the social-security offices. `inbox` keeps each alert's
state for the offices (REST, live stream, dashboard), `delivery` sends signed webhooks with
retries; `consumers` reads alerts.v1, `app` wires them, `tables` holds the tables."""
