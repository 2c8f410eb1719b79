# ruff: noqa: F821 - a fragment appended to the solution's homework.py (which imports numpy as np)
# right for every legal rate, but a rate outside [0, 1] is not refused (the docstring: ValueError)
def dropout_forward(x, rate, uniform, training):
    x = np.asarray(x, dtype=np.float64)
    if not training or rate == 0.0:
        return x.copy()
    if rate >= 1.0:
        return np.zeros_like(x)
    return x * (np.asarray(uniform) >= rate) / (1.0 - rate)
