# ruff: noqa: F821 - a fragment appended to the solution's homework.py (which imports math)
# dilation ignored: the window spans k inputs whatever its spacing
def conv_output_size(size, kernel, stride=1, padding="valid", dilation=1):
    if padding == "same":
        return math.ceil(size / stride)
    pad = 0 if padding == "valid" else padding
    return (size + 2 * pad - kernel) // stride + 1
