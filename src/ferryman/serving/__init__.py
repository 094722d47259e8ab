"""Serving: the model pool, hot swaps, micro-batching, the one prediction call every protocol
makes (``dataplane``) and batch scoring (no HTTP here).

Other parts import these modules by their path (``from ferryman.serving.pool import
ModelPool``): importing the package itself loads none of them, so ``ferryman score --help``
stays quick. ``scoring`` is a subpackage: batch scoring, a chunk of rows at a time.
"""

__all__ = ["batching", "codec", "dataplane", "pool", "recording", "scoring", "served"]
