# ruff: noqa: F821 - a fragment appended to the solution's homework.py (which imports numpy as np)
# the rate drops at the boundary step itself
def step_decay(steps, initial_learning_rate, boundaries, factor=0.1):
    passed = sum(np.asarray(steps) >= boundary for boundary in boundaries)
    return initial_learning_rate * factor**passed
