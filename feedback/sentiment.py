"""Sentiment of short texts with VADER (lexicon and rules tuned for social-media-length text).

The compound score is in [-1, 1]; the usual VADER cut-offs (±0.05) give the label.
"""
from functools import lru_cache

POSITIVE_AT = 0.05
NEGATIVE_AT = -0.05
# VADER scores sentence by sentence; past this length the tail adds little but time.
MAX_SCORED_CHARS = 5000


@lru_cache(maxsize=1)
def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def label_for(score: float) -> str:
    if score >= POSITIVE_AT:
        return "positive"
    if score <= NEGATIVE_AT:
        return "negative"
    return "neutral"


def score(text: str) -> tuple[float, str]:
    """(compound score rounded to 4 places, label) for text."""
    compound = _analyzer().polarity_scores((text or "")[:MAX_SCORED_CHARS])["compound"]
    compound = max(-1.0, min(1.0, round(float(compound), 4)))
    return compound, label_for(compound)
