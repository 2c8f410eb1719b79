# ruff: noqa: F821 - a fragment appended to the solution's homework.py
# accepted: the four counts as a tuple of numpy integers in the docstring's order (values, not types)
import numpy as _np

_right_conv_params = conv_params


def conv_params(c_in, filters, kernel, groups=1, reduce_to=1):
    counts = _right_conv_params(c_in, filters, kernel, groups, reduce_to)
    return tuple(_np.int64(counts[key]) for key in ("plain", "separable", "grouped", "reduced"))
