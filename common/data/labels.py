"""Label encoding for the three head types: multiclass, multilabel, regression."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MULTILABEL_SEPARATOR = "|"  # the one default: readers, config and codec


@dataclass(frozen=True)
class LabelCodec:
    """Maps raw labels to targets and back.

    Attributes:
        task: ``"multiclass"``, ``"multilabel"`` or ``"regression"``.
        names: Class names (index order); ``("value",)`` for regression.
        separator: For multilabel strings such as ``"a|b"``.
    """

    task: str
    names: tuple[str, ...]
    separator: str = MULTILABEL_SEPARATOR

    @classmethod
    def fit(cls, labels, task: str = "multiclass",
            separator: str = MULTILABEL_SEPARATOR) -> "LabelCodec":
        """Learn the class names from training labels.

        Example:
            >>> LabelCodec.fit(["cat", "dog", "cat"]).names
            ('cat', 'dog')
        """
        missing = sum(lab is None for lab in labels)
        if missing:  # never a class named "None": the readers skip unlabelled rows
            raise ValueError(f"{missing} training example(s) have no label")
        if task == "regression":
            return cls(task, ("value",))
        if task == "multilabel":
            names = sorted({n for lab in labels for n in _as_list(lab, separator)})
        else:
            names = sorted({str(lab) for lab in labels})
        if len(names) < 2 and task == "multiclass":
            raise ValueError(f"need at least 2 classes, found {names} (check --label-column "
                             f"and the data's labels)")
        return cls(task, tuple(names), separator)

    @property
    def num_outputs(self) -> int:
        return len(self.names)

    def encode(self, labels) -> np.ndarray:
        """Targets: int32 indices, float32 multi-hot or float32 values."""
        if self.task == "regression":
            try:
                return np.asarray([float(v) for v in labels], np.float32)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"regression labels must be numbers: {exc}") from exc
        index = {n: i for i, n in enumerate(self.names)}
        if self.task == "multilabel":
            out = np.zeros((len(labels), len(self.names)), np.float32)
            for row, lab in enumerate(labels):
                for name in _as_list(lab, self.separator):
                    out[row, self._lookup(index, name)] = 1.0
            return out
        return np.asarray([self._lookup(index, str(lab)) for lab in labels], np.int32)

    def decode(self, outputs: np.ndarray, threshold: float = 0.5):
        """Predictions back to labels (names, name lists, or floats)."""
        if self.task == "regression":
            return [float(v) for v in np.reshape(outputs, (-1,))]
        if self.task == "multilabel":
            return [[self.names[j] for j in np.flatnonzero(row >= threshold)] for row in outputs]
        return [self.names[int(i)] for i in np.argmax(outputs, axis=-1)]

    def _lookup(self, index: dict, name: str) -> int:
        if name not in index:
            raise ValueError(f"label {name!r} was not seen in training; known: {list(self.names)}")
        return index[name]


def _as_list(label, separator: str) -> list[str]:
    if isinstance(label, (list, tuple)):
        return [str(x) for x in label]
    text = str(label)
    parts = text.split(separator) if separator else [text]
    return [p.strip() for p in parts if p.strip()]
