"""Fellegi-Sunter match weights, learned without labels by expectation maximisation.

u (how often a level occurs for two random records) is estimated from random record pairs; m (how
often it occurs for a true match) is learned by two-class EM on the candidate pairs, and the
number of matches among them gives the prior for a random pair. Scoring then uses m, the random
u and that prior, as Splink does.
A name agreement is weighed by how common the name is (term-frequency adjustment): two 张伟
agreeing on the name is far weaker evidence than two 欧阳娜娜.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from hub.identity.compare import FIELDS, LEVELS

EPS = 1e-6


@dataclass
class FSModel:
    m: list[list[float]]  # per field, per level (0 = strongest disagreement ... top = exact)
    u: list[list[float]]
    prior: float  # the probability that two records taken at random are one person
    iterations: int = 0
    u_random: list[list[float]] | None = None  # u among random pairs (for the name frequency adjustment)

    def weights(self) -> np.ndarray:
        """log2(m/u) per field and level, padded to the widest field; column -1 (missing) is 0."""
        width = max(LEVELS) + 1
        table = np.zeros((len(FIELDS), width), dtype=np.float64)
        for f, (m, u) in enumerate(zip(self.m, self.u, strict=True)):
            for level in range(len(m)):
                table[f, level] = np.log2(max(m[level], EPS) / max(u[level], EPS))
        return table

    def to_json(self) -> str:
        return json.dumps({"fields": FIELDS, "m": self.m, "u": self.u, "prior": self.prior,
                           "iterations": self.iterations, "u_random": self.u_random})

    @classmethod
    def from_json(cls, text: str) -> FSModel | None:
        data = json.loads(text)
        if tuple(data.get("fields", ())) != FIELDS:
            return None  # the comparison set changed: the stored model no longer applies
        return cls(m=data["m"], u=data["u"], prior=data["prior"], iterations=data.get("iterations", 0),
                   u_random=data.get("u_random"))


def level_frequencies(gammas: np.ndarray) -> list[list[float]]:
    """Per field, the share of each level among pairs where the field is present."""
    out = []
    for f, levels in enumerate(LEVELS):
        col = gammas[:, f]
        col = col[col >= 0]
        counts = np.bincount(col, minlength=levels).astype(np.float64)[:levels] + 1.0  # +1: no zero u
        out.append((counts / counts.sum()).tolist())
    return out


def default_m() -> list[list[float]]:
    """A starting point: true matches mostly agree."""
    out = []
    for levels in LEVELS:
        raw = np.array([0.5**(levels - 1 - i) for i in range(levels)]) ** 2
        out.append((raw / raw.sum()).tolist())
    return out


MIN_LABELLED = 100  # identifier-linked pairs with a field present needed to read its m from them


def _level_shares(col: np.ndarray, levels: int, weights: np.ndarray | None = None) -> np.ndarray:
    present = col >= 0
    sums = np.bincount(col[present].astype(np.int64), weights=None if weights is None else weights[present],
                       minlength=levels)[:levels].astype(np.float64) + 0.5
    return sums / sums.sum()


def train(gammas: np.ndarray, u: list[list[float]], *, labelled: np.ndarray | None = None,
          name_u: np.ndarray | None = None, candidates: int | None = None, records: int = 0,
          max_iter: int = 40, tol: float = 1e-5) -> FSModel:
    """m and the match share over ``gammas`` (candidate pairs), with ``u`` fixed.

    ``labelled`` are comparison vectors of pairs known to match (linked by a strong identifier,
    the identifier's own field masked as missing). Where they show a field often enough, its m is
    read from them and held fixed (as Splink's ``estimate_m_from_pairwise_labels``); EM estimates
    the remaining m and the match share. Without labels (classic person data) it is plain EM. EM
    alone, on candidates blocked by name, would take "same name" for "same person"; the labels
    and the term-frequency adjusted name weight (``name_u``) keep it from that.
    """
    m = default_m()
    fixed: set[int] = set()
    if labelled is not None and len(labelled):
        for f, levels in enumerate(LEVELS):
            if int((labelled[:, f] >= 0).sum()) >= MIN_LABELLED:
                m[f] = _level_shares(labelled[:, f], levels).tolist()
                fixed.add(f)
    model = FSModel(m=m, u=u, prior=0.1, u_random=u)
    for iteration in range(1, max_iter + 1):
        post = probability(match_weights(model, gammas, name_u))
        new_m = [model.m[f] if f in fixed else _level_shares(gammas[:, f], levels, post).tolist()
                 for f, levels in enumerate(LEVELS)]
        new_u = [_level_shares(gammas[:, f], levels, 1.0 - post).tolist() for f, levels in enumerate(LEVELS)]
        new_prior = float(post.mean()) if len(post) else model.prior
        delta = max(abs(a - b) for fm, om in zip(new_m, model.m, strict=True) for a, b in zip(fm, om, strict=True))
        delta = max(delta, abs(new_prior - model.prior))
        model = FSModel(m=new_m, u=new_u, prior=min(max(new_prior, EPS), 1 - EPS), iterations=iteration, u_random=u)
        if delta < tol:
            break
    # Scoring uses u among random pairs and the prior of a random pair being a match (as Splink):
    # the u of the candidates' non-match class is only a device for estimating m without bias.
    expected_matches = model.prior * (candidates if candidates is not None else len(gammas))
    total_pairs = max(records * (records - 1) / 2, 1.0)
    prior = min(max(expected_matches / total_pairs, 1e-12), 0.5) if records > 1 else model.prior
    return FSModel(m=model.m, u=u, prior=prior, iterations=model.iterations, u_random=u)


def match_weights(model: FSModel, gammas: np.ndarray, name_u: np.ndarray | None = None) -> np.ndarray:
    """log2 odds of a match for each pair, with the prior; ``name_u`` adjusts exact-name agreement."""
    table = model.weights()
    total = np.full(len(gammas), np.log2(model.prior / (1 - model.prior)))
    for f in range(len(FIELDS)):
        col = gammas[:, f].astype(np.int64)
        w = table[f][np.clip(col, 0, None)]
        total += np.where(col >= 0, w, 0.0)
    if name_u is not None:
        # a name more frequent than the average agreeing name is weaker evidence (never stronger)
        top = LEVELS[0] - 1
        average = max((model.u_random or model.u)[0][top], EPS)
        penalty = np.minimum(0.0, np.log2(average / np.maximum(name_u, EPS)))
        total = np.where(gammas[:, 0] == top, total + penalty, total)
    return total


def posterior(model: FSModel, gammas: np.ndarray) -> np.ndarray:
    return probability(match_weights(model, gammas))


def probability(weights: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-np.clip(weights, -60, 60)))


def weight_of(probability_value: float) -> float:
    p = min(max(probability_value, EPS), 1 - EPS)
    return float(np.log2(p / (1 - p)))
