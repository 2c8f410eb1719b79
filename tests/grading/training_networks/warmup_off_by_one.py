# ruff: noqa: F821 - a fragment appended to the solution's homework.py (which imports numpy as np)
# the warm-up one step ahead: peak * (step + 1) / warmup_steps
def warmup_cosine(steps, peak_learning_rate, warmup_steps, decay_steps, alpha=0.0):
    steps = np.asarray(steps, dtype=float)
    warm = peak_learning_rate * (steps + 1) / warmup_steps
    t = np.minimum(steps - warmup_steps, decay_steps)
    cosine = peak_learning_rate * ((1 - alpha) * 0.5 * (1 + np.cos(np.pi * t / decay_steps)) + alpha)
    return np.where(steps < warmup_steps, warm, cosine)
