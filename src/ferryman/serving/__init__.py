"""Serving: the model pool, hot swaps, micro-batching and batch scoring (no HTTP here)."""
