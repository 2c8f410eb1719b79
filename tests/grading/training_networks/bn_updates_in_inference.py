# ruff: noqa: F821 - a fragment appended to the solution's homework.py (which imports numpy as np)
# the running averages updated in inference mode too
def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.99, epsilon=1e-3):
    axes = tuple(range(x.ndim - 1))
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    new_mean = momentum * running_mean + (1 - momentum) * mean
    new_var = momentum * running_var + (1 - momentum) * var
    if not training:
        mean, var = running_mean, running_var
    return gamma * (x - mean) / np.sqrt(var + epsilon) + beta, new_mean, new_var
