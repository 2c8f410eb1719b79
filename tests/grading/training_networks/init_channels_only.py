# ruff: noqa: F821 - a fragment appended to the solution's homework.py (which imports numpy as np)
# a convolution's fan-in without its k x k window
def init_std(shape, method="xavier"):
    fan_in, fan_out = shape[-2], shape[-1]
    if method == "xavier":
        return 1.0 / np.sqrt(fan_in)
    if method == "glorot":
        return np.sqrt(2.0 / (fan_in + fan_out))
    return np.sqrt(2.0 / fan_in)
