"""The HTTP protocols: the simple JSON API, the Open Inference Protocol (V2), SageMaker,
monitoring and /metrics, over one request frame and one error table.

``ferryman.server`` builds the app from ``routes`` with the frame's state (``server_state``)
and the metrics (``metrics``), imported by their path; the rest are the routes' own.
"""

__all__ = ["metrics", "routes", "server_state"]
