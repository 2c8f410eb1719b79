"""The "CNN architectures" assignment's hidden checks: other inputs, and what the docstrings promise at the edges.

Instructor-only: never copied into assignments/ or the student release. Only inputs are described
here; the references in ``checks.py`` (Keras) compute the expected answers.
"""

from pathlib import Path

from kit.assignments import load_module

visible = load_module(Path(__file__).with_name("rubric.py"), "_cnn_architectures_visible_rubric")


def mistakes_of(function: str, mistakes: list[dict]) -> list[dict]:
    return [{**mistake, "functions": [function]} for mistake in mistakes]


CHECKS = [
    dict(
        id="arithmetic_hidden",
        # no step or function: it spans steps 1-3, each case names its function (`_function`)
        name="Steps 1-3: arithmetic (hidden inputs)",
        kind="function",
        points=10,
        visibility="hidden",
        timeout=visible.KERAS_TIMEOUT,
        message="a window as large as the input, stride larger than the kernel, 'same' with a large stride; "
        "a bad padding or a window too large raises ValueError; groups that do not divide raise ValueError; "
        "a pooling stack's field.",
        params=dict(
            rule="numpy",
            mistakes=mistakes_of("conv_params", visible.CONV_PARAMS_MISTAKES)
            + mistakes_of("receptive_field", visible.FIELD_MISTAKES),
            cases=[
                {"_function": "conv_output_size", "_reference": "checks:keras_output_size", "size": 5, "kernel": 5},
                {
                    "_function": "conv_output_size",
                    "_reference": "checks:keras_output_size",
                    "size": 10,
                    "kernel": 2,
                    "stride": 3,
                },
                {
                    "_function": "conv_output_size",
                    "_reference": "checks:keras_output_size",
                    "size": 9,
                    "kernel": 5,
                    "stride": 4,
                    "padding": "same",
                },
                {
                    "_function": "conv_output_size",
                    "_raises": "ValueError",
                    "size": 4,
                    "kernel": 3,
                    "dilation": 2,
                    "_label": "conv_output_size, a window of span 5 on 4 inputs (the docstring: ValueError)",
                },
                {
                    "_function": "conv_output_size",
                    "_raises": "ValueError",
                    "size": 8,
                    "kernel": 3,
                    "padding": "full",
                    "_label": "conv_output_size, padding 'full' (the docstring: ValueError)",
                },
                {
                    "_function": "conv_params",
                    "_reference": "checks:keras_conv_params",
                    "c_in": 3,
                    "filters": 96,
                    "kernel": 11,
                    "groups": 1,
                    "reduce_to": 3,
                },
                {
                    "_function": "conv_params",
                    "_raises": "ValueError",
                    "c_in": 6,
                    "filters": 8,
                    "kernel": 3,
                    "groups": 4,
                    "_label": "conv_params, groups 4 for 6 channels (the docstring: ValueError)",
                },
                {
                    "_function": "receptive_field",
                    "_reference": "checks:keras_receptive_field",
                    "layers": [[5, 1], [2, 2], [5, 1], [2, 2], [3, 1]],
                    "_label": "receptive_field, LeNet-5-like: conv 5, pool 2, conv 5, pool 2, conv 3",
                },
                {
                    "_function": "receptive_field",
                    "_reference": "checks:keras_receptive_field",
                    "layers": [[1, 1]],
                    "_label": "receptive_field, one 1x1 convolution",
                },
            ],
        ),
    ),
    dict(
        id="blocks_hidden",
        step=4,
        function="residual_block",
        name="Step 4: the blocks (hidden inputs)",
        kind="residual_block",
        points=5,
        visibility="hidden",
        timeout=90,
        message="a residual block that halves the size and doubles the channels (a projection shortcut).",
        params=dict(
            function="build_residual_block",
            args=[[16, 16, 16], 32, 2],
            input_shape=[16, 16, 16],
            params=14816,
            output_shape=[8, 8, 32],
            probabilities=False,
            probe=4,
            seed=9601,
        ),
    ),
    dict(
        id="vgg_hidden",
        step=4,
        function="vgg_block",
        name="Step 4: vgg_block (hidden inputs)",
        kind="model_builder",
        points=5,
        visibility="hidden",
        timeout=90,
        message="three convolutions of 32 filters on a 16x16x8 input.",
        params=dict(
            function="build_vgg_block",
            args=[[16, 16, 8], 32, 3],
            input_shape=[16, 16, 8],
            signature=["Conv2D(32, 3x3, relu, same)"] * 3 + ["MaxPooling2D(2x2)"],
            params=20832,
            output_shape=[8, 8, 32],
            probabilities=False,
            seed=9501,
        ),
    ),
    dict(
        id="transfer_hidden",
        step=5,
        function="transfer_model",
        name="Step 5: transfer_model (hidden inputs)",
        kind="transfer",
        points=5,
        visibility="hidden",
        timeout=90,
        message="another pretrained base, three new classes.",
        params=dict(function="transfer_model", seed=9701, num_classes=3, input_shape=[28, 28, 1], features=32),
    ),
]
