"""Generated product reviews: short sentences of a few words, labelled by their tone."""

from __future__ import annotations

import numpy as np
import pandas as pd

GOOD = ["great", "excellent", "friendly", "fast", "love", "helpful"]
BAD = ["terrible", "worst", "slow", "rude", "awful", "broken"]
FILLER = ["the", "product", "staff", "and", "service", "was", "delivery", "very", "our"]


def reviews(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    """``review`` (text) and ``label`` (1 for a good review, 0 for a bad one)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, rows)
    texts = []
    for label in labels:
        words = [*rng.choice(GOOD if label else BAD, 2), *rng.choice(FILLER, 3)]
        if rng.random() < 0.2:  # some reviews say a word of the other side
            words.append(str(rng.choice(BAD if label else GOOD)))
        rng.shuffle(words)
        texts.append(" ".join(str(w) for w in words))
    return pd.DataFrame({"review": texts, "label": labels})


NEW_REVIEWS = ["great friendly staff", "a sentence made of words never seen before", "slow"]
