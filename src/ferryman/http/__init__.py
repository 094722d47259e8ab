"""The ASGI app: the simple JSON API, the Open Inference Protocol (V2), SageMaker, metrics.

The command line uses ``server`` (listen, run) and ``app`` (ServeOptions), imported by their
path; the rest are the app's routes and their frame.
"""

__all__ = ["app", "server"]
