"""The office inbox: each alert's latest state as offices see it (`alert_state`), read,
acknowledged and dismissed through office REST (`api`, `schemas`, `service`), the live stream
(`stream`) and the dashboard (`dashboard`, `dashboard_data`), limited to an office's divisions."""
