# ruff: noqa: F821 - a fragment appended to the solution's homework.py
# every count without its biases
def conv_params(c_in, filters, kernel, groups=1, reduce_to=1):
    window = kernel * kernel
    return {
        "plain": window * c_in * filters,
        "separable": window * c_in + c_in * filters,
        "grouped": window * (c_in // groups) * filters,
        "reduced": c_in * reduce_to + window * reduce_to * filters,
    }
