"""Class labels for the classifiers: their types, and class indices from 0/1 matrices.

Shared by `MLPClassifier` and ``fastnn.dask``'s classifier, which check and
code labels the same way in memory and chunk by chunk.
"""

import numbers

import numpy as np

__all__ = ["check_label_types", "class_codes", "label_kind"]


def label_kind(label):
    """"number", "string" or the type name of one label, to find mixed label types."""
    if isinstance(label, (str, np.str_, bytes)):
        return "string"
    if isinstance(label, (bool, np.bool_)):
        return "bool"
    if isinstance(label, (numbers.Number, np.number)):
        return "number"
    return type(label).__name__


def check_label_types(y):
    """Raise a clear error for object labels that mix kinds (say ints and strings):
    they cannot be sorted into ``classes_``."""
    y = np.asarray(y, dtype=object) if not hasattr(y, "dtype") else np.asarray(y)
    if y.dtype != object:
        return
    kinds = {}
    for label in y.ravel():
        kinds.setdefault(label_kind(label), label)
        if len(kinds) > 1:
            examples = ", ".join(f"{repr(v)} ({k})" for k, v in kinds.items())
            raise ValueError(
                f"y mixes labels of different types: {examples}. The labels of a classifier "
                "must be all numbers or all strings; convert y, for example with "
                "y.astype(str)."
            )


def class_codes(Y):
    """Class indices from a LabelBinarizer's 0/1 matrix (one column for two classes)."""
    if Y.shape[1] == 1:
        return Y[:, 0].astype(np.intp)
    return np.argmax(Y, axis=1)
