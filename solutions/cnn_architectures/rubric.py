"""The "CNN architectures" assignment's rubric: the visible checks (read by ``kit.grading``).

Each check: ``id``, ``step`` (the runner's step it belongs to, the README's "What to write" part),
``function`` (the student's function it checks: the block, where ``params`` name its given builder),
``name`` (shown to the student), ``kind`` (``function`` and ``model_builder``, the
kit's generic kinds, or ``residual_block`` and ``transfer`` of checks.py), ``points``, ``timeout``
(wall seconds per child: the references import Keras), ``message`` and ``params``. A ``function``
check calls the student's function on each case and compares it with the reference ``checks:NAME``
(Keras on the same arguments); each case right earns its share, and a wrong case that equals one
of the ``mistakes`` says which. This file ships with the student release (``kit check`` runs it).
"""

LIMITS = {"memory_mb": 3072, "file_mb": 32, "processes": 64, "output_kb": 16}

KERAS_TIMEOUT = 60  # a child that imports Keras: ~5-10 s on a busy 2-core machine

CONV_PARAMS_MISTAKES = [
    {
        "reference": "checks:mistake_separable_with_depthwise_bias",
        "message": "The separable count has a bias per depthwise filter: Keras' SeparableConv2D has biases only "
        "after the pointwise 1x1 convolution",
    },
    {"reference": "checks:mistake_no_biases", "message": "These counts leave out the biases (one per filter)"},
]
FLOPS_MISTAKES = [
    {
        "reference": "checks:mistake_flops_on_input_positions",
        "message": "This counts the work at every INPUT position; a convolution works at each OUTPUT position "
        "(fewer with a stride or without padding)",
    },
]
FIELD_MISTAKES = [
    {
        "reference": "checks:mistake_receptive_field_sum",
        "message": "This adds the kernels' spans but forgets the strides: a layer above a stride-2 layer widens "
        "the field twice as fast (multiply by the product of the strides below)",
    },
]

VGG_SIGNATURE = ["Conv2D(64, 3x3, relu, same)", "Conv2D(64, 3x3, relu, same)", "MaxPooling2D(2x2)"]

CHECKS = [
    dict(
        id="conv_output_size",
        step=1,
        function="conv_output_size",
        name="Step 1: conv_output_size: padding, stride, dilation",
        kind="function",
        points=15,
        timeout=KERAS_TIMEOUT,
        message="conv_output_size(size, kernel, stride, padding, dilation) equals the output length of Keras' "
        "convolution (after ZeroPadding for an int padding).",
        params=dict(
            function="conv_output_size",
            reference="checks:keras_output_size",
            rule="numpy",
            cases=[
                {"size": 32, "kernel": 5, "_label": "the lecture's 32x32 image, 5x5 filters: 28"},
                {"size": 28, "kernel": 3, "padding": "same", "_label": "28, 3x3, same"},
                {"size": 227, "kernel": 11, "stride": 4, "_label": "AlexNet's first layer: 227, 11x11, stride 4"},
                {"size": 32, "kernel": 3, "stride": 2, "padding": 1, "_label": "32, 3x3, stride 2, padding 1"},
                {"size": 28, "kernel": 3, "dilation": 2, "_label": "28, 3x3 dilated by 2 (spans 5)"},
                {"size": 7, "kernel": 3, "stride": 2, "padding": "same", "_label": "7, 3x3, stride 2, same: 4"},
            ],
        ),
    ),
    dict(
        id="conv_params",
        step=2,
        function="conv_params",
        name="Step 2: conv_params: plain, separable, grouped, 1x1-reduced",
        kind="function",
        points=20,
        timeout=KERAS_TIMEOUT,
        message="conv_params(c_in, filters, kernel, groups, reduce_to): the count_params() of Keras' Conv2D, "
        "SeparableConv2D, Conv2D(groups=...) and a 1x1 Conv2D before the k x k one (a quarter of a case each).",
        params=dict(
            function="conv_params",
            reference="checks:keras_conv_params",
            rule="numpy",
            parts={"plain": 1, "separable": 1, "grouped": 1, "reduced": 1},
            mistakes=CONV_PARAMS_MISTAKES,
            cases=[
                {
                    "c_in": 4,
                    "filters": 10,
                    "kernel": 3,
                    "groups": 2,
                    "reduce_to": 2,
                    "_label": "the lecture's 32x32x4 input, 10 3x3 filters: 370 plain, 86 separable",
                },
                {
                    "c_in": 192,
                    "filters": 128,
                    "kernel": 3,
                    "groups": 32,
                    "reduce_to": 96,
                    "_label": "Inception 3a's 3x3",
                },
                {"c_in": 256, "filters": 64, "kernel": 1, "groups": 4, "reduce_to": 64, "_label": "a 1x1 layer"},
            ],
        ),
    ),
    dict(
        id="conv_flops",
        step=2,
        function="conv_flops",
        name="Step 2: conv_flops: multiply-adds",
        kind="function",
        points=10,
        timeout=KERAS_TIMEOUT,
        message="conv_flops(input_shape, filters, kernel, stride, padding): kit.models.count_flops of a one-layer "
        "Keras model (multiply-adds at each output position).",
        params=dict(
            function="conv_flops",
            reference="checks:keras_conv_flops",
            rule="numpy",
            mistakes=FLOPS_MISTAKES,
            cases=[
                {"input_shape": [224, 224, 3], "filters": 64, "kernel": 3, "padding": "same", "_label": "VGG's first"},
                {"input_shape": [227, 227, 3], "filters": 96, "kernel": 11, "stride": 4, "_label": "AlexNet's first"},
                {"input_shape": [32, 32, 1], "filters": 6, "kernel": 5, "_label": "LeNet-5's first"},
            ],
        ),
    ),
    dict(
        id="receptive_field",
        step=3,
        function="receptive_field",
        name="Step 3: receptive_field: how far a stack sees",
        kind="function",
        points=15,
        timeout=KERAS_TIMEOUT,
        message="receptive_field(layers): the input pixels one output unit of Keras' stack responds to.",
        params=dict(
            function="receptive_field",
            reference="checks:keras_receptive_field",
            rule="numpy",
            mistakes=FIELD_MISTAKES,
            cases=[
                {"layers": [[3, 1], [3, 1], [3, 1]], "_label": "three 3x3 convolutions: one 7x7's field"},
                {"layers": [[3, 1], [3, 1], [2, 2], [3, 1], [3, 1], [2, 2]], "_label": "two VGG blocks"},
                {"layers": [[3, 1, 1], [3, 1, 2], [3, 1, 4]], "_label": "dilations 1, 2, 4"},
                {"layers": [[7, 2], [3, 2], [3, 1]], "_label": "ResNet's stem: 7x7 stride 2, 3x3 pool stride 2, 3x3"},
            ],
        ),
    ),
    dict(
        id="vgg_block",
        step=4,
        function="vgg_block",
        name="Step 4: vgg_block (functional API)",
        kind="model_builder",
        points=10,
        timeout=90,
        message="vgg_block(x, filters, convs): convs x Conv2D(filters, 3x3, same, relu), then MaxPooling2D(2x2); "
        "build_vgg_block((32, 32, 3), 64, 2) has 38,720 parameters and outputs 16x16x64.",
        params=dict(
            function="build_vgg_block",
            args=[[32, 32, 3], 64, 2],
            input_shape=[32, 32, 3],
            signature=VGG_SIGNATURE,
            params=38720,
            output_shape=[16, 16, 64],
            probabilities=False,
            seed=501,
        ),
    ),
    dict(
        id="residual_block",
        step=4,
        function="residual_block",
        name="Step 4: residual_block (functional API)",
        kind="residual_block",
        points=15,
        timeout=90,
        message="residual_block(x, filters, stride): conv-BN-ReLU-conv-BN plus the identity shortcut, then ReLU; "
        "with the convolutions zeroed it outputs ReLU(x).",
        params=dict(
            function="build_residual_block",
            args=[[16, 16, 32], 32, 1],
            input_shape=[16, 16, 32],
            params=18752,
            output_shape=[16, 16, 32],
            probabilities=False,
            identity=True,
            probe=4,
            seed=601,
        ),
    ),
    dict(
        id="transfer_model",
        step=5,
        function="transfer_model",
        name="Step 5: transfer_model: fine-tuning with the features frozen",
        kind="transfer",
        points=15,
        timeout=90,
        message="transfer_model(base, num_classes): base's feature extractor kept and frozen, a new "
        "Dense(num_classes, softmax) the only layer that trains.",
        params=dict(function="transfer_model", seed=701, num_classes=5, input_shape=[28, 28, 1], features=32),
    ),
]
