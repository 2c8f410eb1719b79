# ruff: noqa: F821 - a fragment appended to the solution's homework.py (which imports numpy as np)
# Nesterov's flag ignored: plain momentum either way
def sgd_momentum(w, grads, learning_rate=0.01, momentum=0.9, nesterov=False):
    v = np.zeros_like(w)
    path = []
    for g in grads:
        v = momentum * v - learning_rate * g
        w = w + v
        path.append(w)
    return np.array(path)
