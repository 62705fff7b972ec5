"""The coverage registry: enterprises, enrollments and inspection findings as the agency
registers them (`api`, `schemas`), their writes staged on their topics (`service`), and
the read side that says whether a permit or an enterprise is covered (`coverage`)."""
