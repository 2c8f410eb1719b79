# ruff: noqa: F821 - a fragment appended to the solution's homework.py (which imports numpy as np)
# the slide's full Adam: epsilon added to sqrt(v_hat), not to sqrt(v) as Keras does
def adam(w, grads, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m, v = np.zeros_like(w), np.zeros_like(w)
    path = []
    for t, g in enumerate(grads, start=1):
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        m_hat, v_hat = m / (1 - beta_1**t), v / (1 - beta_2**t)
        w = w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon)
        path.append(w)
    return np.array(path)
