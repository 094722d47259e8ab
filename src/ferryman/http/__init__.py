"""The ASGI app: the simple JSON API, the Open Inference Protocol (V2), SageMaker, metrics."""
