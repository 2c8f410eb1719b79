# ruff: noqa: F821 - a fragment appended to the solution's homework.py (which imports numpy as np)
# fan-in read from the last axis (the kernel taken as (outputs, inputs), PyTorch's layout)
def init_std(shape, method="xavier"):
    shape = tuple(int(size) for size in shape)
    window = int(np.prod(shape[:-2]))
    fan_in, fan_out = window * shape[-1], window * shape[-2]
    if method == "xavier":
        return float(1.0 / np.sqrt(fan_in))
    if method == "glorot":
        return float(np.sqrt(2.0 / (fan_in + fan_out)))
    return float(np.sqrt(2.0 / fan_in))
