# Accepted: the four branches built and concatenated in another order (pool, 5x5, 1x1, 3x3).
def inception_module(x, filters_1x1=64, filters_3x3_reduce=64, filters_3x3=64,
                     filters_5x5_reduce=64, filters_5x5=64, filters_pool_proj=64, name=None):
    part = lambda p: f"{name}_{p}" if name else None  # noqa: E731
    conv = lambda t, f, k, p: layers.Conv2D(f, k, padding="same", activation="relu", name=part(p))(t)  # noqa: E731
    d = conv(layers.MaxPooling2D(3, strides=1, padding="same", name=part("pool"))(x), filters_pool_proj, 1, "proj")
    c = conv(conv(x, filters_5x5_reduce, 1, "5x5_reduce"), filters_5x5, 5, "5x5")
    a = conv(x, filters_1x1, 1, "1x1")
    b = conv(conv(x, filters_3x3_reduce, 1, "3x3_reduce"), filters_3x3, 3, "3x3")
    return layers.Concatenate(axis=-1, name=part("concat"))([d, c, a, b])
