"""enrollment: the work-injury coverage registry and the matcher. `registry` keeps what the
agency registers, `imports` loads enterprises in bulk, `matching` raises and resolves
alerts; `app` wires them and `tables` holds the service's tables."""
