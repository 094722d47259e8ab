"""Monitoring: prediction log, feedback, live KPIs, drift, data quality, alerts, root cause."""

__all__: list[str] = []
