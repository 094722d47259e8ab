"""scikit-learn's own compiled helper types that skops does not trust by default.

They are classes of the installed scikit-learn (tree structures, neighbour indexes, optimiser
state), rebuilt from plain arrays; trusting them runs no code carried by the file. Without
them no tree ensemble, nearest-neighbour model or MLP could be loaded. The setting
``trust_sklearn_internals`` (default on) adds them; the list never comes from an artifact.
"""

from __future__ import annotations

SKLEARN_INTERNALS: tuple[str, ...] = (
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
    "sklearn.metrics._dist_metrics.ChebyshevDistance64",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
)
