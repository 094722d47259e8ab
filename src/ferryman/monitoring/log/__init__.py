"""The prediction log: the writer behind the server's sink, its files, and the reader.

Other parts import these modules by their path (``from ferryman.monitoring.log.writer import
PredictionLog``). ``scheme`` is the one home of the log's folders, partitions, columns and row
keys: the writer and every reader import it, and no reader imports the writer. ``arrow``,
``pending`` and ``compaction`` are the writer's own.
"""

__all__ = ["files", "reader", "scheme", "writer"]
