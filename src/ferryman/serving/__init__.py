"""Serving: the model pool, hot swaps, micro-batching, the one prediction call every protocol
makes (``dataplane``) and batch scoring (no HTTP here).

Other parts import these modules by their path (``from ferryman.serving.pool import
ModelPool``): importing the package itself loads none of them, so ``ferryman score --help``
stays quick. The ``_score_*`` modules are scoring's own.
"""

__all__ = [
    "batching",
    "codec",
    "dataplane",
    "pool",
    "recording",
    "score_defaults",
    "scoring",
    "served",
]
