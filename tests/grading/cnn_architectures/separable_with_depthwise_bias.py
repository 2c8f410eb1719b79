# ruff: noqa: F821 - a fragment appended to the solution's homework.py
# a bias per depthwise filter in the separable count
_right_conv_params = conv_params


def conv_params(c_in, filters, kernel, groups=1, reduce_to=1):
    counts = _right_conv_params(c_in, filters, kernel, groups, reduce_to)
    return {**counts, "separable": counts["separable"] + c_in}
