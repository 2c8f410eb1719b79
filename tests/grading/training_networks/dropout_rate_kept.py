# ruff: noqa: F821 - a fragment appended to the solution's homework.py (which imports numpy as np)
# rate read as the share kept (cs231n's p)
def dropout_forward(x, rate, uniform, training):
    if not training:
        return x
    mask = (uniform < rate) / rate
    return x * mask
