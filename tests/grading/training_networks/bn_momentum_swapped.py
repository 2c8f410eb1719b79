# ruff: noqa: F821 - a fragment appended to the solution's homework.py (which imports numpy as np)
# PyTorch's momentum: the weight of the new batch, not of the old running value
def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.99, epsilon=1e-3):
    axes = tuple(range(x.ndim - 1))
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var = (1 - momentum) * running_var + momentum * var
    else:
        mean, var = running_mean, running_var
    return gamma * (x - mean) / np.sqrt(var + epsilon) + beta, running_mean, running_var
