# Broken: 'valid' padding in the 3x3 and 5x5 branches, so the branches' sizes differ.
def inception_module(x, filters_1x1=64, filters_3x3_reduce=64, filters_3x3=64,
                     filters_5x5_reduce=64, filters_5x5=64, filters_pool_proj=64, name=None):
    conv = lambda t, f, k: layers.Conv2D(f, k, activation="relu")(t)  # noqa: E731
    a = conv(x, filters_1x1, 1)
    b = conv(conv(x, filters_3x3_reduce, 1), filters_3x3, 3)
    c = conv(conv(x, filters_5x5_reduce, 1), filters_5x5, 5)
    d = conv(layers.MaxPooling2D(3, strides=1, padding="same")(x), filters_pool_proj, 1)
    return layers.Concatenate()([a, b, c, d])
