"""Occupational-disease incidence (职业病发生率): new cases per 100,000 insured employees.

Owns the figure's definition (figures.py), its trend against 2020 (trend.py), its reading
of the incidents tables (data.py) and its columns, sheets and route (exports.py, routes.py).
"""
