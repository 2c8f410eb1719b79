# ruff: noqa: F821 - a fragment appended to the solution's homework.py
# the work counted at every input position
def conv_flops(input_shape, filters, kernel, stride=1, padding="valid"):
    height, width, channels = input_shape
    return height * width * kernel * kernel * channels * filters
