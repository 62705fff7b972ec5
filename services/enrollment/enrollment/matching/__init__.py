"""The matcher: is each permit, accident, disease and finding covered by an enrollment?

`engine` holds every decision as pure functions over in-memory `facts`; `store` loads the
facts a batch needs and writes what the engine decided; `driver` runs one batch (a poll of
the live consumer, a replay's poll, or the due-permit scan) through both in one transaction.
"""
