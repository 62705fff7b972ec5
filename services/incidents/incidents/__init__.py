"""incidents: accident and occupational-disease intake (`api`, `service`), its projection of
enterprises and enrollments from their topics (`consumers`), the reports built on them
(`reports/`), and the plan's other goals (`incidence/`, `inspections/`, `training/`,
`evaluation/`)."""
