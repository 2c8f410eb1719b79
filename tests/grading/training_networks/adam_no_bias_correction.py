# ruff: noqa: F821 - a fragment appended to the solution's homework.py (which imports numpy as np)
# the slide's simplified Adam: no bias correction
def adam(w, grads, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m, v = np.zeros_like(w), np.zeros_like(w)
    path = []
    for g in grads:
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        w = w - learning_rate * m / (np.sqrt(v) + epsilon)
        path.append(w)
    return np.array(path)
