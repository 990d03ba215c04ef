"""Linear classifiers over character n-grams of a text and of its sounds, trained with scikit-learn.

Features are the character n-grams (1 to 3) of the normalised text and the n-grams (2 to 3) of its
phonetic key (language/phonetic.py), so a homophone written by speech recognition shares features with
the word it stands for. Training uses scikit-learn (`TfidfVectorizer`, then a linear SVM or a logistic
regression); the probabilities are a softmax of the linear scores with a temperature fitted on
cross-validated scores, so a threshold chosen on held-apart data means what it says. Applying a model
needs only NumPy: the n-grams' rows of the coefficient matrix, weighted as the vectorizer would.
"""

from __future__ import annotations

import io
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from language import phonetic
from language.text import normalise_for_reading

_SOUND = "~"  # marks the n-grams of the phonetic key apart from those of the text


def features(text: str) -> list[str]:
    """The n-grams a model reads in `text`."""
    return list(_features(text))


@lru_cache(maxsize=4096)
def _features(text: str) -> tuple[str, ...]:
    # One message is read by several models (triage, kind, zone, unit) and again when its ticket opens.
    plain = normalise_for_reading(text)
    grams = [plain[i:i + n] for n in (1, 2, 3) for i in range(len(plain) - n + 1)]
    sounds = phonetic.key(plain)
    grams += [_SOUND + sounds[i:i + n] for n in (2, 3) for i in range(len(sounds) - n + 1)]
    return tuple(g for g in grams if not g.isspace())


@lru_cache(maxsize=4096)
def _counts(text: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    # Each distinct n-gram of the text and its sublinear term frequency, once for every model that reads it.
    counts = Counter(_features(text))
    return tuple(counts), tuple(1.0 + math.log(n) for n in counts.values())


@dataclass(frozen=True, slots=True, eq=False)
class TextModel:
    """A trained linear model: the n-grams it knows, their idf, one coefficient per class, a temperature."""

    classes: tuple[str, ...]
    vocabulary: dict[str, int]
    idf: np.ndarray  # (n_features,)
    coef: np.ndarray  # (n_features, n_classes)
    intercept: np.ndarray  # (n_classes,)
    temperature: float = 1.0

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str], *, method: str = "logistic", c: float = 4.0,
              balanced: bool = True, min_df: int = 1) -> TextModel:
        """Fit on labelled texts (at least two classes): `logistic` regression, or a linear `svm` whose
        scores are turned into probabilities by a temperature fitted on 5-fold cross-validated scores."""
        from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415 - training only
        from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
        from sklearn.model_selection import cross_val_predict  # noqa: PLC0415
        from sklearn.svm import LinearSVC  # noqa: PLC0415

        vectorizer = TfidfVectorizer(analyzer=features, sublinear_tf=True, min_df=min_df)
        matrix = vectorizer.fit_transform(texts)
        weight = "balanced" if balanced else None
        if method == "svm":
            model: LogisticRegression | LinearSVC = LinearSVC(C=c, class_weight=weight)
        else:
            model = LogisticRegression(C=c, max_iter=2000, class_weight=weight)
        model.fit(matrix, labels)
        classes = tuple(str(k) for k in model.classes_)
        coef = np.asarray(model.coef_, dtype=np.float64)
        intercept = np.asarray(model.intercept_, dtype=np.float64)
        if len(classes) == 2:  # one row for the second class; the first scores 0 (softmax = sigmoid)
            coef = np.vstack([np.zeros_like(coef), coef])
            intercept = np.array([0.0, float(intercept[0])])
        temperature = 1.0
        if method == "svm":
            folds = min(5, min(Counter(labels).values()))
            if folds >= 2:
                scores = cross_val_predict(LinearSVC(C=c, class_weight=weight), matrix, labels, cv=folds,
                                           method="decision_function")
                if len(classes) == 2:
                    scores = np.column_stack([np.zeros(len(scores)), scores])
                temperature = _fit_temperature(scores, [classes.index(str(y)) for y in labels])
        return cls(classes, dict(vectorizer.vocabulary_), np.asarray(vectorizer.idf_, dtype=np.float64),
                   coef.T.copy(), intercept, temperature)

    def scores(self, text: str) -> np.ndarray:
        """The linear score of each class: TF-IDF (sublinear tf, l2 norm) dotted with the coefficients."""
        grams, tfs = _counts(text)
        vocabulary = self.vocabulary
        known = [(i, tf) for i, tf in zip(map(vocabulary.get, grams), tfs, strict=True) if i is not None]
        if not known:
            return self.intercept.copy()
        rows = np.fromiter((i for i, _ in known), dtype=np.int64, count=len(known))
        values = np.fromiter((tf for _, tf in known), dtype=np.float64, count=len(known)) * self.idf[rows]
        values /= np.linalg.norm(values) or 1.0
        scores: np.ndarray = values @ self.coef[rows] + self.intercept
        return scores

    def probabilities(self, text: str) -> dict[str, float]:
        """The calibrated probability of each class for `text`."""
        return dict(zip(self.classes, _softmax(self.scores(text) / self.temperature).tolist(), strict=True))

    def ranked(self, text: str) -> list[tuple[str, float]]:
        """Classes with their probabilities, most likely first."""
        return sorted(self.probabilities(text).items(), key=lambda item: item[1], reverse=True)

    def strongest(self, text: str, label: str, k: int = 3) -> list[str]:
        """The n-grams of `text` that speak most for `label` (the reasons shown to officers)."""
        column = self.classes.index(label)
        grams = {g for g in _features(text) if g in self.vocabulary and not g.startswith(_SOUND) and len(g) > 1}
        ranked = sorted(grams, key=lambda g: self.coef[self.vocabulary[g], column], reverse=True)
        return [g for g in ranked[:k] if self.coef[self.vocabulary[g], column] > 0]

    def dumps(self) -> bytes:
        """The model as bytes (NumPy arrays and JSON, compressed), for storage."""
        buffer = io.BytesIO()
        meta = json.dumps({"classes": self.classes, "temperature": self.temperature,
                           "vocabulary": sorted(self.vocabulary, key=self.vocabulary.__getitem__)},
                          ensure_ascii=False).encode()
        np.savez_compressed(buffer, idf=self.idf, coef=self.coef, intercept=self.intercept,
                            meta=np.frombuffer(meta, dtype=np.uint8))
        return buffer.getvalue()

    @classmethod
    def loads(cls, data: bytes) -> TextModel:
        """A model from `dumps` (arrays only: nothing is executed)."""
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            meta = json.loads(arrays["meta"].tobytes().decode())
            vocabulary = {gram: i for i, gram in enumerate(meta["vocabulary"])}
            return cls(tuple(meta["classes"]), vocabulary, arrays["idf"].copy(), arrays["coef"].copy(),
                       arrays["intercept"].copy(), float(meta["temperature"]))


def _softmax(values: np.ndarray) -> np.ndarray:
    shifted: np.ndarray = np.exp(values - values.max())
    return shifted / shifted.sum()  # type: ignore[no-any-return]


def _fit_temperature(scores: np.ndarray, truth: Sequence[int]) -> float:
    """The temperature that minimises the log loss of softmax(scores / T) on held-out scores."""
    rows = np.arange(len(truth))
    target = np.asarray(truth)

    def loss(temperature: float) -> float:
        scaled = scores / temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scaled).sum(axis=1))
        return float((log_norm - scaled[rows, target]).mean())

    candidates = np.geomspace(0.02, 5.0, 60)
    return float(min(candidates, key=loss))
