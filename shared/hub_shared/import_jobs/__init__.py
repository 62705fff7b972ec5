"""Import jobs: a file posted to a service becomes a job row that a task of the app runs,
reporting its progress and outcome on that row (enrollment's enterprise import, incidents'
key-personnel roster import).

`tables` holds the columns every job table has, `cells` the reading of a spreadsheet's
cells and headers, and `jobs` the machinery: creating a job under the caps, running its
steps with a heartbeat and writing whatever ends it, finding jobs whose process died
(stale, or cut off by a restart), and the job's report. `issues_csv` streams every issue
of a job. Each service keeps its own tables and its own rows' rules; nothing here knows
what a row means.
"""
