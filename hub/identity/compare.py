"""Field comparisons of candidate pairs, as comparison levels (Fellegi-Sunter gamma vectors).

Column-wise and vectorised: exact agreement compares integer codes of the values (numpy), fuzzy
agreement compares the strings of all pairs in one ``rapidfuzz.process.cpdist`` call (C, both
cores). Level -1 means "a value is missing" and carries no evidence.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler, Levenshtein
from rapidfuzz.fuzz import ratio, token_set_ratio

from hub.identity.features import Features

FIELDS = ("name", "birth_date", "employer", "city", "address", "email", "phone", "gender")
LEVELS = (4, 4, 3, 3, 3, 3, 2, 2)  # levels per field, highest = strongest agreement
WORKERS = 2
SET_WIDTH = 2  # e-mails/phones per record compared (the first two, sorted)


def _codes(values: Sequence, table: dict) -> np.ndarray:
    """An integer code per value (-1 for missing), shared through ``table``."""
    return np.fromiter((table.setdefault(v, len(table)) if v else -1 for v in values), dtype=np.int64,
                       count=len(values))


def _set_codes(values: Sequence[frozenset], table: dict) -> np.ndarray:
    out = np.full((len(values), SET_WIDTH), -1, dtype=np.int64)
    rows, cols, codes = [], [], []
    for i, items in enumerate(values):
        if items:
            for j, v in enumerate(sorted(items)[:SET_WIDTH] if len(items) > 1 else items):
                rows.append(i)
                cols.append(j)
                codes.append(table.setdefault(v, len(table)))
    out[rows, cols] = codes
    return out


class Comparer:
    """Compares pairs of records given by index into ``features``."""

    def __init__(self, features: Sequence[Features]) -> None:
        tables: dict[str, dict] = {attr: {} for attr in ("name_key", "han", "employer", "city", "postcode", "gender",
                                                         "street", "dob")}
        self.codes = {attr: _codes([getattr(f, attr) for f in features], tables[attr]) for attr in tables}
        self.codes["dob_swapped"] = _codes([d[:4] + d[6:] + d[4:6] if d else None for d in (f.dob for f in features)],
                                           tables["dob"])
        # the distinct strings by code: a fuzzy score is computed once per distinct pair of values
        self.values = {attr: list(tables[attr]) for attr in ("name_key", "employer", "street", "city", "dob")}
        self.token_counts = np.fromiter(((f.name_key or "").count(" ") for f in features), dtype=np.int64,
                                        count=len(features))
        self.sets = {attr: _set_codes([getattr(f, attr) for f in features], {})
                     for attr in ("emails", "phones", "email_locals")}

    def gammas(self, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        """An int8 matrix (pairs x FIELDS) of comparison levels."""
        out = np.full((len(ia), len(FIELDS)), -1, dtype=np.int8)
        if len(ia) == 0:
            return out
        out[:, 0] = self._name(ia, ib)
        out[:, 1] = self._dob(ia, ib)
        out[:, 2] = self._graded("employer", ia, ib, ratio, (85.0, 100.0))
        out[:, 3] = self._graded("city", ia, ib, JaroWinkler.normalized_similarity, (0.88, 1.0))
        out[:, 4] = self._address(ia, ib)
        out[:, 5] = self._email(ia, ib)
        out[:, 6] = self._overlap("phones", ia, ib)
        out[:, 7] = self._exact("gender", ia, ib)
        return out

    def _present(self, attr: str, ia: np.ndarray, ib: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ca, cb = self.codes[attr][ia], self.codes[attr][ib]
        return ca, cb, (ca >= 0) & (cb >= 0)

    def _sims(self, attr: str, ia: np.ndarray, ib: np.ndarray, mask: np.ndarray, scorer,  # noqa: ANN001
              fill: float = 0.0) -> np.ndarray:
        """``scorer`` of the values of the pairs in ``mask`` (both present), ``fill`` elsewhere; values
        repeat (cities, employers, names), so each distinct (value, value) pair is scored once."""
        sims = np.full(len(ia), fill, dtype=np.float32)
        idx = np.flatnonzero(mask)
        if len(idx):
            codes, values = self.codes[attr], self.values[attr]
            width = len(values)
            distinct, inverse = np.unique(codes[ia[idx]] * width + codes[ib[idx]], return_inverse=True)
            scores = process.cpdist([values[c] for c in (distinct // width).tolist()],
                                    [values[c] for c in (distinct % width).tolist()],
                                    scorer=scorer, workers=WORKERS, dtype=np.float32)
            sims[idx] = scores[inverse]
        return sims

    def _exact(self, attr: str, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        ca, cb, present = self._present(attr, ia, ib)
        level = (ca == cb).astype(np.int8)
        level[~present] = -1
        return level

    def _graded(self, attr: str, ia: np.ndarray, ib: np.ndarray, scorer, cuts) -> np.ndarray:  # noqa: ANN001
        """Exact (top level), else similar at ``cuts[0]`` (level 1), else 0; fuzzy only where not equal."""
        ca, cb, present = self._present(attr, ia, ib)
        equal = present & (ca == cb)
        sims = self._sims(attr, ia, ib, present & ~equal, scorer)
        level = np.where(equal, len(cuts), np.where(sims >= cuts[0], 1, 0)).astype(np.int8)
        level[~present] = -1
        return level

    def _name(self, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        ca, cb, present = self._present("name_key", ia, ib)
        equal = present & (ca == cb)
        fuzzy = present & ~equal
        jw = self._sims("name_key", ia, ib, fuzzy, JaroWinkler.normalized_similarity)
        tokens = self._sims("name_key", ia, ib, fuzzy, token_set_ratio)  # order- and subset-tolerant
        same_count = self.token_counts[ia] == self.token_counts[ib]
        level = np.where(jw >= 0.93, 2, np.where(jw >= 0.80, 1, 0)).astype(np.int8)
        level[(tokens >= 88) & (level < 1)] = 1
        level[(tokens >= 88) & same_count & (level < 2)] = 2
        ha, hb = self.codes["han"][ia], self.codes["han"][ib]
        homophone = (ha >= 0) & (hb >= 0) & (ha != hb)  # 张伟 / 张玮: same pinyin, other characters
        level[equal] = 3
        level[equal & homophone] = 2
        level[~present] = -1
        return level

    def _dob(self, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        ca, cb, present = self._present("dob", ia, ib)
        equal = present & (ca == cb)
        swapped = present & (self.codes["dob_swapped"][ia] == cb)
        fuzzy = present & ~equal
        dist = self._sims("dob", ia, ib, fuzzy, Levenshtein.distance, fill=99)
        level = np.where(equal, 3, np.where((dist <= 1) | swapped, 2, np.where(dist <= 2, 1, 0))).astype(np.int8)
        level[~present] = -1
        return level

    def _overlap(self, attr: str, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        sa, sb = self.sets[attr][ia], self.sets[attr][ib]
        present = (sa[:, 0] >= 0) & (sb[:, 0] >= 0)
        hit = np.zeros(len(ia), dtype=bool)
        for i in range(SET_WIDTH):
            for j in range(SET_WIDTH):
                hit |= (sa[:, i] == sb[:, j]) & (sa[:, i] >= 0)
        level = hit.astype(np.int8)
        level[~present] = -1
        return level

    def _address(self, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        street = self._graded("street", ia, ib, JaroWinkler.normalized_similarity, (0.85, 0.95))
        _, _, post_present = self._present("postcode", ia, ib)
        post = self._exact("postcode", ia, ib)
        level = street.copy()
        level[(street == 1) & (post == 0)] = 0  # a similar street in another postcode is another street
        no_street = street == -1
        level[no_street & post_present] = post[no_street & post_present]
        return level

    def _email(self, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        """2: a shared address; 1: the same local part at another domain (zhangwei1987@163.com and
        @qq.com); 0: no such thing. Local parts are only compared whole: a similar one is mostly a
        similar name, which the name field already counts."""
        shared = self._overlap("emails", ia, ib)
        same_local = self._overlap("email_locals", ia, ib)
        level = np.where(shared == 1, 2, np.where(same_local == 1, 1, 0)).astype(np.int8)
        level[shared == -1] = -1
        return level
