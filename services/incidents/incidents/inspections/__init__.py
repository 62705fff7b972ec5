"""Joint inspections (联合检查): inspection records and their findings of four kinds.

Owns each finding's rectification deadline and responsible department, its closing by a
rectification, the `rectification_overdue` alert, and the on-time/late/open report.
"""
