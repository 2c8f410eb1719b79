"""The Fashion-MNIST homework's hidden checks: other inputs, other seeds, edge cases.

Instructor-only: never copied into assignments/ or the student release, and covered by an
empty tmpfs while student code runs. Only inputs are described here (seeds, sizes, dtypes,
empty classes); the check kinds (``checks.py``) compute the expected answers from them.
"""

CHECKS = [
    dict(
        id="dataset_summary_hidden",
        step=1,
        function="dataset_summary",
        name="Step 1: dataset_summary (hidden inputs)",
        kind="dataset_summary",
        points=5,
        visibility="hidden",
        timeout=90,
        message="float images without a channel axis, and a class with no images (NaN mean and std).",
        params=dict(seed=9101, n=150, dtype="float32", channel=False, empty=[4]),
    ),
    dict(
        id="inception_module_hidden",
        step=6,
        function="inception_module",
        name="Step 6: Inception module (hidden filters)",
        kind="inception_module",
        points=5,
        visibility="hidden",
        timeout=90,
        message="other filter counts, another input size, and layer names from `name`.",
        params=dict(
            input_shape=[9, 7, 5],
            seed=9105,
            kwargs=dict(
                filters_1x1=8,
                filters_3x3_reduce=4,
                filters_3x3=12,
                filters_5x5_reduce=3,
                filters_5x5=6,
                filters_pool_proj=5,
                name="probe",
            ),
        ),
    ),
    dict(
        id="confusion_matrix_hidden",
        step=6,
        function="confusion_matrix",
        name="Step 6: confusion matrix (hidden inputs)",
        kind="confusion_matrix",
        points=5,
        visibility="hidden",
        timeout=60,
        message="another number of classes, int32 labels, and a class that never occurs.",
        params=dict(seed=9107, n=97, num_classes=7, empty=[2], dtype="int32", accuracy=0.4),
    ),
    dict(
        id="f1_scores_hidden",
        step=6,
        function="f1_scores",
        name="Step 6: F1 (hidden inputs)",
        kind="f1_scores",
        points=5,
        visibility="hidden",
        timeout=60,
        message="another number of classes and a class that never occurs (its F1 is 0, not NaN).",
        params=dict(seed=9108, n=90, num_classes=6, empty=[5], accuracy=0.5),
    ),
]
