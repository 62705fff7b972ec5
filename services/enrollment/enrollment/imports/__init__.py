"""Bulk enterprise imports: a CSV or XLSX file read and validated row by row like
`PUT /v1/enterprises/{uscc}` (`importer`), run as a job with its issues and progress
behind `POST /v1/enterprises:import` (`api`)."""
