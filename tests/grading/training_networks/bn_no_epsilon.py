# ruff: noqa: F821 - a fragment appended to the solution's homework.py (which imports numpy as np)
# the variance without epsilon under the square root
def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.99, epsilon=1e-3):
    axes = tuple(range(x.ndim - 1))
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        mean, var = running_mean, running_var
    return gamma * (x - mean) / np.sqrt(var) + beta, running_mean, running_var
