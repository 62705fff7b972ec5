"""hub_shared: what every service of the hub shares and no business rule: settings, clock,
events and their envelope and topics, the outbox and the consumers' inbox, the unit of work
and group commit, migrations, errors, auth, webhooks, identifiers and code lists."""
