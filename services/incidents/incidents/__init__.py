"""incidents: accident and occupational-disease intake (`api`, `service`), its projection of
enterprises and enrollments from their topics (`consumers`), and the key-industry statistics,
trends, floating-rate advice and annual submission built on them (`reports`, `trends`, ...)."""
