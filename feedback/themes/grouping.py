"""Grouping feedback vectors into themes: pure functions over numpy arrays (no Django).

Method, and why: spherical k-means over unit vectors, deliberately over-clustered, then
clusters whose centres are close are joined (average-linkage agglomerative clustering of
the *centres*, cosine distance), and pieces far from every centre are left unassigned.

- k-means is linear in the number of pieces (MiniBatchKMeans above a few thousand), so
  10,000 pieces group in seconds on two cores; agglomerative clustering or HDBSCAN on the
  pieces themselves needs the n x n distances (800 MB at 10,000).
- It yields centres: a new piece is assigned by one matrix-vector product against them,
  without regrouping, and the PM's themes can seed the next run (their centres start it).
- Over-clustering then merging centres finds the number of themes from the data instead
  of asking for k; the similarity threshold leaves one-off remarks out of every theme
  (NMF or LDA would spread every piece over topics, with no notion of "nothing close").
"""
from __future__ import annotations

import numpy as np

MIN_THEME_SIZE = 3
MIN_PIECES = 6


def unit(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return X / norms


def centres(X: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Unit mean vector of each label 0..k-1 (zeros for an empty label)."""
    C = np.zeros((k, X.shape[1]), np.float32)
    np.add.at(C, labels[labels >= 0], X[labels >= 0])
    return unit(C)


def group(X: np.ndarray, *, seeds: np.ndarray | None = None, assign_threshold: float, merge_similarity: float,
          min_size: int = MIN_THEME_SIZE, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Cluster unit rows of X. Returns (labels, centres): labels[i] in 0..k-1, or -1 for
    pieces close to no theme. `seeds` (unit rows) start the first clusters: the centres of
    the themes of the previous run, so themes keep their identity from one run to the next."""
    from sklearn.cluster import AgglomerativeClustering, KMeans, MiniBatchKMeans, kmeans_plusplus

    n = len(X)
    if n < max(MIN_PIECES, min_size):
        return np.full(n, -1), np.zeros((0, X.shape[1] if X.ndim == 2 else 1), np.float32)
    seeds = np.zeros((0, X.shape[1]), np.float32) if seeds is None or not len(seeds) else unit(seeds)
    k = int(min(max(2, n // 12), 60))
    k = max(k, min(len(seeds) + 2, n - 1))
    init, _ = kmeans_plusplus(X, n_clusters=k, random_state=random_state)
    m = min(len(seeds), k)
    init[:m] = seeds[:m]
    if n > 3000:
        km = MiniBatchKMeans(n_clusters=k, init=init, n_init=1, batch_size=2048, max_iter=60,
                             random_state=random_state, max_no_improvement=5)
    else:
        km = KMeans(n_clusters=k, init=init, n_init=1, max_iter=100, random_state=random_state)
    labels = km.fit_predict(X)
    C = centres(X, labels, k)

    # Join clusters whose centres say the same thing.
    live = np.unique(labels)
    if len(live) > 1:
        agg = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                      distance_threshold=1 - merge_similarity)
        joined = agg.fit_predict(C[live])
        remap = np.full(k, -1)
        remap[live] = joined
        labels = remap[labels]
        k = int(joined.max()) + 1
        C = centres(X, labels, k)

    # Leave out what is far from its centre, then clusters too small to be a theme.
    sim = np.einsum("ij,ij->i", X, C[labels])
    labels = np.where(sim >= assign_threshold, labels, -1)
    for _ in range(2):
        counts = np.bincount(labels[labels >= 0], minlength=k)
        labels = np.where((labels >= 0) & (counts[np.maximum(labels, 0)] >= min_size), labels, -1)
        C = centres(X, labels, k)
        sim = np.einsum("ij,ij->i", X, C[np.maximum(labels, 0)])
        labels = np.where((labels >= 0) & (sim >= assign_threshold), labels, -1)
    # Renumber 0..k-1 by size, largest first.
    counts = np.bincount(labels[labels >= 0], minlength=k)
    order = [c for c in np.argsort(-counts, kind="stable") if counts[c] > 0]
    remap = np.full(k, -1)
    remap[order] = np.arange(len(order))
    labels = np.where(labels >= 0, remap[np.maximum(labels, 0)], -1)
    return labels, centres(X, labels, len(order))


def assign(v: np.ndarray, C: np.ndarray, threshold: float) -> tuple[int, float]:
    """(index of the closest centre, similarity), or (-1, similarity) below threshold."""
    if not len(C):
        return -1, 0.0
    sims = C @ v
    best = int(np.argmax(sims))
    return (best if sims[best] >= threshold else -1), float(sims[best])


def likely_duplicates(X: np.ndarray, ids: np.ndarray, threshold: float) -> dict[int, tuple[int, float]]:
    """For each row, the earliest other row (by id) at least `threshold` similar:
    {id: (original id, similarity)}. X is a small group (one theme); O(n^2) within it."""
    out: dict[int, tuple[int, float]] = {}
    if len(X) < 2:
        return out
    order = np.argsort(ids)
    X, ids = X[order], ids[order]
    for start in range(0, len(X), 2048):
        S = X[start:start + 2048] @ X.T
        for r in range(S.shape[0]):
            i = start + r
            row = S[r, :i]
            hits = np.nonzero(row >= threshold)[0]
            if len(hits):
                j = hits[0]
                out[int(ids[i])] = (int(ids[j]), float(row[j]))
    return out


def keywords(texts: list[str], labels: np.ndarray, k: int, top: int = 5) -> list[list[str]]:
    """The words that set each theme apart (class-based TF-IDF): for each label, the terms
    whose mean TF-IDF weight in the theme most exceeds their mean over all feedback.
    A unigram already inside a chosen bigram is skipped."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    if k == 0 or not texts:
        return []
    # Bigrams of words that stand side by side in the text ("sign-on with Okta" gives "sign",
    # "okta", never "sign okta"): n-grams over all words, then those with a stop word dropped.
    words = TfidfVectorizer(ngram_range=(1, 2), strip_accents="unicode", lowercase=True,
                            token_pattern=r"(?u)\b[^\W\d_][^\W_]{1,}\b").build_analyzer()

    def analyzer(doc):
        return [t for t in words(doc) if not any(w in ENGLISH_STOP_WORDS for w in t.split())]

    vec = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, min_df=2 if len(texts) >= 40 else 1,
                          max_features=30000, dtype=np.float32)
    try:
        M = vec.fit_transform(texts)
    except ValueError:
        return [[] for _ in range(k)]
    terms = vec.get_feature_names_out()
    overall = np.asarray(M.mean(axis=0)).ravel()
    result = []
    for c in range(k):
        rows = np.nonzero(labels == c)[0]
        if not len(rows):
            result.append([])
            continue
        inside = np.asarray(M[rows].mean(axis=0)).ravel()
        score = inside - overall
        chosen: list[str] = []
        for j in np.argsort(-score)[: top * 4]:
            if score[j] <= 0 or len(chosen) >= top:
                break
            term = str(terms[j])
            if any(term in other.split() for other in chosen if " " in other):
                continue
            if " " in term:
                chosen = [t for t in chosen if t not in term.split()]
            if term not in chosen:
                chosen.append(term)
        result.append(chosen[:top])
    return result


def label_from(words: list[str]) -> str:
    if not words:
        return "Untitled theme"
    label = ", ".join(words[:3])
    return (label[:1].upper() + label[1:])[:120]


def representative(X: np.ndarray, centre: np.ndarray, texts: list[str], candidates: int = 5) -> int:
    """Index (into X) of the quote that shows a theme: among the pieces closest to its
    centre, the one of the most readable length (20 to 240 characters, shortest first)."""
    sims = X @ centre
    top = np.argsort(-sims)[:candidates]

    def badness(i):
        n = len(texts[i])
        return (0 if 20 <= n <= 240 else 1, -sims[i] if n <= 240 else n)

    return int(min(top, key=badness))
