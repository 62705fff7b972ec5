"""The matcher: is each permit, accident, disease and finding covered by an enrollment?
`fold` and `judge` decide, as pure functions over in-memory `facts` (with `rules`, `drafts`,
the name matching); `store` reads and writes facts; `driver`, `due_permits`, `rebuild` run them.
"""
