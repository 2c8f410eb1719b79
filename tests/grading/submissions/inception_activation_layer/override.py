# Accepted: each Conv2D is linear and followed by a separate layers.Activation("relu").
def inception_module(x, filters_1x1=64, filters_3x3_reduce=64, filters_3x3=64,
                     filters_5x5_reduce=64, filters_5x5=64, filters_pool_proj=64, name=None):
    part = lambda p: f"{name}_{p}" if name else None  # noqa: E731

    def conv(t, f, k, p):
        t = layers.Conv2D(f, k, padding="same", name=part(p))(t)
        return layers.Activation("relu", name=part(p + "_relu"))(t)

    a = conv(x, filters_1x1, 1, "1x1")
    b = conv(conv(x, filters_3x3_reduce, 1, "3x3_reduce"), filters_3x3, 3, "3x3")
    c = conv(conv(x, filters_5x5_reduce, 1, "5x5_reduce"), filters_5x5, 5, "5x5")
    d = conv(layers.MaxPooling2D(3, strides=1, padding="same", name=part("pool"))(x), filters_pool_proj, 1, "proj")
    return layers.Concatenate(name=part("concat"))([a, b, c, d])
