"""The server, composed and run: ``app`` builds the model pool, the prediction sink, the
monitoring schedule and the ASGI app (``create_app``, ``ServeOptions``); ``run`` listens and
runs it under uvicorn, in one process or several workers.

The command line imports these modules by their path; importing the package loads neither.
"""

__all__ = ["app", "run"]
