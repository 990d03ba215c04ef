"""Linear classifiers over character n-grams of a text and of its sounds, trained with scikit-learn.

Features are the character n-grams (1 to 3) of the normalised text and the n-grams (2 to 3) of its
phonetic key (language/phonetic.py), so a homophone written by speech recognition shares features with
the word it stands for. Training uses scikit-learn's `TfidfVectorizer` and a logistic regression (its
probabilities are calibrated enough to set thresholds on); applying the model to one message needs no
scikit-learn: each n-gram's weight (coefficient times idf) is a dictionary entry, so a message costs
tens of microseconds on the chat's path.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from language import phonetic
from language.text import normalise_for_reading

_SOUND = "~"  # marks the n-grams of the phonetic key apart from those of the text


def features(text: str) -> list[str]:
    """The n-grams a model reads in `text`."""
    plain = normalise_for_reading(text)
    grams = [plain[i:i + n] for n in (1, 2, 3) for i in range(len(plain) - n + 1)]
    sounds = phonetic.key(plain)
    grams += [_SOUND + sounds[i:i + n] for n in (2, 3) for i in range(len(sounds) - n + 1)]
    return [g for g in grams if not g.isspace()]


@dataclass(frozen=True, slots=True)
class TextModel:
    """A trained linear model: per class, the weight of each n-gram, and the intercept."""

    classes: tuple[str, ...]
    weights: dict[str, tuple[float, tuple[float, ...]]]  # n-gram -> (idf, coefficient per class)
    intercepts: tuple[float, ...]

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str], *, c: float = 4.0,
              balanced: bool = True) -> TextModel:
        """Fit on labelled texts (at least two classes)."""
        from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415 - training only
        from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

        vectorizer = TfidfVectorizer(analyzer=features, sublinear_tf=True, min_df=1)
        matrix = vectorizer.fit_transform(texts)
        model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced" if balanced else None)
        model.fit(matrix, labels)
        classes = tuple(str(k) for k in model.classes_)
        # binary: scikit-learn keeps one row for the second class; the first scores 0 (softmax = sigmoid)
        coef = model.coef_ if len(classes) > 2 else [[0.0] * model.coef_.shape[1], model.coef_[0]]
        intercepts = tuple(model.intercept_) if len(classes) > 2 else (0.0, model.intercept_[0])
        idf = vectorizer.idf_
        weights = {gram: (float(idf[index]), tuple(float(row[index]) for row in coef))
                   for gram, index in vectorizer.vocabulary_.items()}
        return cls(classes, weights, tuple(float(b) for b in intercepts))

    def probabilities(self, text: str) -> dict[str, float]:
        """The probability of each class for `text` (softmax of the linear scores)."""
        scores = self.scores(text)
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {label: e / total for label, e in zip(self.classes, exps, strict=True)}

    def scores(self, text: str) -> list[float]:
        """The linear score of each class: TF-IDF (sublinear tf, l2 norm) dotted with the coefficients."""
        counts = Counter(features(text))
        known = [(self.weights[g], 1.0 + math.log(n)) for g, n in counts.items() if g in self.weights]
        if not known:
            return list(self.intercepts)
        norm = math.sqrt(sum((tf * idf) ** 2 for (idf, _), tf in known)) or 1.0
        totals = list(self.intercepts)
        for (idf, coefs), tf in known:
            value = tf * idf / norm
            for k, w in enumerate(coefs):
                totals[k] += w * value
        return totals

    def strongest(self, text: str, label: str, k: int = 3) -> list[str]:
        """The n-grams of `text` that speak most for `label` (the reasons shown to officers)."""
        index = self.classes.index(label)
        grams = {g for g in features(text) if g in self.weights}
        ranked = sorted(grams, key=lambda g: self.weights[g][1][index], reverse=True)
        return [g for g in ranked[:k] if not g.startswith(_SOUND) and self.weights[g][1][index] > 0]
