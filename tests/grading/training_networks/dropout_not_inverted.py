# ruff: noqa: F821 - a fragment appended to the solution's homework.py (which imports numpy as np)
# plain (not inverted) dropout: scaled by 1 - rate at test time
def dropout_forward(x, rate, uniform, training):
    if training:
        return x * (uniform >= rate)
    return x * (1 - rate)
