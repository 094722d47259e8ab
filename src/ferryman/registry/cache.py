"""The process's cache of loaded predictors."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock

from ferryman.flavors import Predictor


class PredictorCache:
    """The most recently used predictors, keyed by artifact hash and load options."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Predictor] = OrderedDict()
        self._lock = Lock()
        self.hits = 0
        self.misses = 0

    def get_or_load(self, key: Hashable, load: Callable[[], Predictor]) -> Predictor:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        predictor = load()
        with self._lock:
            self.misses += 1
        self.put(key, predictor)
        return predictor

    def put(self, key: Hashable, predictor: Predictor) -> None:
        with self._lock:
            if self.size > 0:
                self._items[key] = predictor
                self._items.move_to_end(key)
                while len(self._items) > self.size:
                    self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
