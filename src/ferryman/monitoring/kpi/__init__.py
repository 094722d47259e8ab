"""Live KPIs: feedback joined to logged predictions, and the figures with their intervals.

``feedback`` stores labels and business values (``FeedbackStore``); ``performance`` computes
KPIs over a window (``compute_performance``, ``PerformanceReport``). ``query`` (the DuckDB
sums) and ``intervals`` (the confidence intervals) are theirs.
"""

__all__ = ["feedback", "performance"]
