"""CNN architectures: what a convolution costs, how far it sees, and the blocks the classic networks are made of.

Lecture "CNN architectures" (and the layer zoo of "Deep learning: basics"). Each function below is
one idea of the lecture; the autograder calls it on its own inputs and compares the result with
what Keras computes (the output shapes and parameter counts of its layers, kit.models.count_flops,
the response of a stack of convolutions to a single pixel):
  1. convolution arithmetic  -> `conv_output_size` (padding, stride, dilation)
  2. what a layer costs      -> `conv_params` (plain, depthwise separable, grouped, 1x1-reduced:
                                the lecture's 32x32x4 input and 10 3x3 filters, 370 against 86),
                                `conv_flops` (multiply-adds)
  3. how far a stack sees    -> `receptive_field`
  4. the classic blocks      -> `vgg_block` (VGG: stacks of 3x3), `residual_block` (ResNet), in
                                Keras' functional API
  5. fine-tuning             -> `transfer_model`: a pretrained feature extractor frozen, a new top
The runner (`python -m kit homework --assignment cnn_architectures`) puts them to work: LeNet-5,
AlexNet, VGG-16, GoogLeNet's Inception 3a and ResNet's blocks counted with your functions against
Keras and the lecture's figures, and a network trained on five Fashion-MNIST classes fine-tuned on
the other five, frozen against trained from scratch.

This file is yours to edit: replace every `raise NotImplementedError(...)` with your code (its
text says where to look); keep the names, the arguments and the return types (the autograder
calls these functions). Functions 1-3 use plain Python or numpy (the autograder refuses Keras in
them: counting is the point); Keras is imported inside the functions of 4 and 5 only.
`make check ASSIGNMENT=cnn_architectures` gives your points on the autograder's visible checks.
"""

from __future__ import annotations

import math

PADDINGS = ("valid", "same")


# --- 1. Convolution arithmetic --------------------------------------------------------------


def conv_output_size(size: int, kernel: int, stride: int = 1, padding="valid", dilation: int = 1) -> int:
    """The output size (along one axis) of a convolution or pooling window, as Keras computes it.

    A window of ``kernel`` taps spaced ``dilation`` apart spans d * (k - 1) + 1 inputs (the
    "effective" kernel). With ``padding``:
      "valid": no padding: floor((size - span) / stride) + 1;
      "same":  Keras pads so that the output is ceil(size / stride), whatever the kernel;
      an int p: p zeros on each side (Keras: ZeroPadding2D(p) before a "valid" layer):
               floor((size + 2p - span) / stride) + 1.
    The lecture's example: a 32x32 image, 5x5 filters, stride 1, no padding -> 28.

    Returns:
        The output size, an int >= 1.

    Raises:
        ValueError: an unknown padding (name "valid", "same" or an int >= 0), or a window larger
        than the (padded) input (no output at all).
    """
    # BEGIN SOLUTION hint="Work out the window's span first (dilation spreads its taps), then one formula per "
    #     "padding. Lecture 'CNN architectures', slides on convolution parameters (output size "
    #     "(N - F) / stride + 1); Keras' 'same' is ceil(N / stride)."
    span = dilation * (kernel - 1) + 1
    if padding == "same":
        return math.ceil(size / stride)
    if padding == "valid":
        pad = 0
    elif isinstance(padding, int) and not isinstance(padding, bool) and padding >= 0:
        pad = padding
    else:
        raise ValueError(f"Unknown padding {padding!r}; use 'valid', 'same' or an int >= 0.")
    if size + 2 * pad < span:
        raise ValueError(f"A window spanning {span} inputs does not fit in {size + 2 * pad} (padded) inputs.")
    return (size + 2 * pad - span) // stride + 1
    # END SOLUTION


# --- 2. What a layer costs ------------------------------------------------------------------


def conv_params(c_in: int, filters: int, kernel: int, groups: int = 1, reduce_to: int = 1) -> dict:
    """Parameters (weights and biases) of four ways to map ``c_in`` channels to ``filters`` with k x k windows.

    Keys of the dict returned, each an int, as Keras' ``count_params()`` gives them:
      "plain":     Conv2D(filters, k): k*k*c_in weights per filter, plus one bias each;
      "separable": SeparableConv2D(filters, k): a depthwise k x k filter per input channel (no
                   bias), then a pointwise 1x1 convolution to ``filters`` channels (with biases).
                   The lecture's example: input 32x32x4, 10 3x3 filters: 370 plain, 86 separable;
      "grouped":   Conv2D(filters, k, groups=groups): the channels in ``groups`` groups, each
                   filter sees c_in / groups of them (AlexNet's two GPUs; ResNeXt);
      "reduced":   a 1x1 Conv2D to ``reduce_to`` channels (GoogLeNet's and ResNet's bottleneck),
                   then Conv2D(filters, k) on them, both with biases.

    Raises:
        ValueError: ``groups`` that does not divide both c_in and filters.
    """
    # BEGIN SOLUTION hint="One line each: weights of a k x k window over the channels it sees, times the "
    #     "filters, plus the biases. Lecture 'Deep learning: basics', the depthwise separable convolution "
    #     "slide (370 and 86); 'CNN architectures', the 1x1 reductions of GoogLeNet."
    if groups < 1 or c_in % groups or filters % groups:
        raise ValueError(f"groups={groups} must divide both c_in={c_in} and filters={filters}.")
    window = kernel * kernel
    return {
        "plain": window * c_in * filters + filters,
        "separable": window * c_in + c_in * filters + filters,
        "grouped": window * (c_in // groups) * filters + filters,
        "reduced": (c_in * reduce_to + reduce_to) + (window * reduce_to * filters + filters),
    }
    # END SOLUTION


def conv_flops(input_shape, filters: int, kernel: int, stride: int = 1, padding: str = "valid") -> int:
    """Multiply-adds per image of Conv2D(filters, kernel, strides=stride, padding=padding) on ``input_shape``.

    ``input_shape`` is (height, width, channels). Each output position of each filter takes
    k*k*C_in multiply-adds (biases are not counted, as in the papers' "FLOPs" and in
    kit.models.count_flops): H_out * W_out * k * k * C_in * filters, with H_out and W_out as
    ``conv_output_size`` gives them.
    """
    # BEGIN SOLUTION hint="Output positions (use your conv_output_size) times the work at each one. Lecture "
    #     "'CNN architectures': the cost of each layer of VGG-16 (most of it in the first layers)."
    height, width, channels = (int(v) for v in input_shape)
    out_h = conv_output_size(height, kernel, stride, padding)
    out_w = conv_output_size(width, kernel, stride, padding)
    return out_h * out_w * kernel * kernel * channels * filters
    # END SOLUTION


# --- 3. How far a stack sees ----------------------------------------------------------------


def receptive_field(layers) -> int:
    """The receptive field (in input pixels, along one axis) of one output unit of a stack of layers.

    ``layers``: the stack from the input up, each ``[kernel, stride]`` or ``[kernel, stride,
    dilation]`` (a pooling window is a layer too: its size and stride). The first layer sees
    d * (k - 1) + 1 inputs; each later layer widens the field by d * (k - 1) times the product of
    the strides below it (a step of one unit up there is that many pixels down here). Two 3x3
    convolutions see 5 pixels, three see 7: VGG's argument for stacks of 3x3 filters.

    Returns:
        The receptive field, an int.
    """
    # BEGIN SOLUTION hint="Keep two numbers while you walk up the stack: the field so far and the product of "
    #     "the strides so far (the 'jump'). Lecture 'CNN architectures', VGG: 'a stack of three 3x3 layers has "
    #     "the receptive field of one 7x7 layer'."
    field, jump = 1, 1
    for layer in layers:
        kernel, stride = int(layer[0]), int(layer[1])
        dilation = int(layer[2]) if len(layer) > 2 else 1
        field += dilation * (kernel - 1) * jump
        jump *= stride
    return field
    # END SOLUTION


# --- 4. The classic blocks, in the functional API -------------------------------------------


def vgg_block(x, filters: int, convs: int):
    """VGG's block: ``convs`` Conv2D(filters, 3x3, padding="same", activation="relu"), then MaxPooling2D(2x2).

    ``x`` is a Keras tensor (functional API); return the block's output tensor. The height and
    width halve, the channels become ``filters``. (``layers.Activation("relu")`` after a linear
    Conv2D is accepted as the same.)
    """
    import keras

    # BEGIN SOLUTION hint="A loop applying Conv2D layers to the tensor, then one MaxPooling2D "
    #     "(keras.io/api/layers). Lecture 'CNN architectures', VGG: 'only 3x3 convolutions, stride 1, pad 1, "
    #     "and 2x2 max pooling, stride 2'."
    for _ in range(convs):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    return keras.layers.MaxPooling2D(2)(x)
    # END SOLUTION


def residual_block(x, filters: int, stride: int = 1):
    """ResNet's basic block (the lecture's residual block), in the functional API.

    Main path: Conv2D(filters, 3x3, strides=stride, padding="same") -> BatchNormalization ->
    ReLU -> Conv2D(filters, 3x3, padding="same") -> BatchNormalization. Shortcut: ``x`` itself
    (the identity) when ``stride`` is 1 and ``x`` already has ``filters`` channels; otherwise a
    projection, Conv2D(filters, 1x1, strides=stride) -> BatchNormalization, so that the shapes
    match. Output: ReLU(main path + shortcut) (``layers.Add`` then a ReLU).

    With the main path's weights all zero the block outputs ReLU(x): the shortcut carries the
    input through, which is what lets a 100-layer ResNet start as a shallow one.
    """
    import keras

    # BEGIN SOLUTION hint="Two paths from x: the main one (conv, BN, ReLU, conv, BN) and the shortcut; "
    #     "layers.Add()([main, shortcut]) joins them; a ReLU after. x.shape[-1] gives x's channels. Lecture "
    #     "'CNN architectures', ResNet: 'F(x) + x'."
    layers = keras.layers
    main = layers.Conv2D(filters, 3, strides=stride, padding="same")(x)
    main = layers.BatchNormalization()(main)
    main = layers.ReLU()(main)
    main = layers.Conv2D(filters, 3, padding="same")(main)
    main = layers.BatchNormalization()(main)
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride)(x)
        shortcut = layers.BatchNormalization()(shortcut)
    return layers.ReLU()(layers.Add()([main, shortcut]))
    # END SOLUTION


def build_block(block: str, input_shape, *args):
    """A ``keras.Model`` of one block on an input of ``input_shape`` (given: the checks and the runner call it).

    ``block`` is "vgg_block" or "residual_block"; ``args`` go to it after the input tensor.
    """
    import keras

    inputs = keras.Input(shape=tuple(input_shape))
    function = {"vgg_block": vgg_block, "residual_block": residual_block}[block]
    return keras.Model(inputs, function(inputs, *args), name=block)


def build_vgg_block(input_shape=(32, 32, 3), filters: int = 64, convs: int = 2):
    """``vgg_block`` as a model (given)."""
    return build_block("vgg_block", input_shape, filters, convs)


def build_residual_block(input_shape=(16, 16, 32), filters: int = 32, stride: int = 1):
    """``residual_block`` as a model (given)."""
    return build_block("residual_block", input_shape, filters, stride)


# --- 5. Fine-tuning -------------------------------------------------------------------------


def transfer_model(base, num_classes: int):
    """A new classifier on a pretrained network's features: its feature extractor frozen, a new top trained.

    ``base`` is a trained ``keras.Model`` (a CNN whose last layer is its classifier, a Dense
    softmax layer over the classes it was trained on). Return a new ``keras.Model`` that:
      - takes ``base``'s input and reuses ``base``'s layers up to the one before its last layer
        (``base.layers[-2].output`` is the feature vector), with their trained weights;
      - freezes them (``layer.trainable = False`` for each), so that training changes only the top;
      - ends in a new Dense(num_classes, activation="softmax").
    The lecture's transfer table: with little data similar to the pretraining data, freeze the
    features and train the top only; with more, fine-tune more layers at ~1/10 of the learning rate.
    """
    import keras

    # BEGIN SOLUTION hint="Freeze base's layers, take base.layers[-2].output as the features, put a new Dense "
    #     "softmax on them, and make keras.Model(base.inputs, ...). Lecture 'CNN architectures' (fine-tuning) "
    #     "and 'Training networks, part 1' (transfer learning: freeze, retrain the top)."
    for layer in base.layers:
        layer.trainable = False
    features = base.layers[-2].output
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="new_top")(features)
    return keras.Model(base.inputs, outputs, name="transfer")
    # END SOLUTION
