# ruff: noqa: F821 - a fragment appended to the solution's homework.py (which imports numpy as np)
# the slide's RMSProp: epsilon outside the square root
def rmsprop(w, grads, learning_rate=0.001, rho=0.9, epsilon=1e-7):
    grad_squared = np.zeros_like(w)
    path = []
    for dx in grads:
        grad_squared = rho * grad_squared + (1 - rho) * dx * dx
        w = w - learning_rate * dx / (np.sqrt(grad_squared) + epsilon)
        path.append(w)
    return np.array(path)
