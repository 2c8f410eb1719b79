"""The Fashion-MNIST homework's rubric: the visible checks (read by ``kit.grading``).

Each check: ``id`` (stable, used by ``only=`` and tags), ``name`` (shown to the student),
``kind`` (a kind of ``kit.grading.kinds`` or of ``checks.py`` beside this file), ``points``, ``visibility``
(Gradescope: visible / after_due_date; hidden checks live in ``rubric_hidden.py``, which is
never released), ``timeout`` (wall seconds per child process), ``step`` (the runner's step it belongs
to), ``function`` (the student's function it checks; a ``params`` ``function`` counts), ``message`` (what
the check is about, student-facing) and ``params`` (inputs and expectations). Inputs are generated from these
seeds by the check kinds (``checks.py``); expected answers are computed there (numpy / scikit-learn),
never stored. This file ships with the student release (``assignments/fashion_mnist/``), so
that ``python -m kit check`` runs exactly these checks.
"""

CNN_SIGNATURE = [
    "Conv2D(32, 3x3, relu)",
    "Conv2D(64, 3x3, relu)",
    "MaxPooling2D(2x2)",
    "Dropout(0.25)",
    "Flatten",
    "Dense(128, relu)",
    "Dropout(0.5)",
    "Dense(10, softmax)",
]
CNN_PARAMS = 1_199_882

# per child process (kit.grading.sandbox.Limits); each check's `timeout` replaces wall_seconds
LIMITS = {"memory_mb": 3072, "file_mb": 32, "processes": 64, "output_kb": 16}

CHECKS = [
    dict(
        id="dataset_summary",
        step=1,
        function="dataset_summary",
        name="Step 1: dataset_summary",
        kind="dataset_summary",
        points=10,
        timeout=90,
        message="dataset_summary(x, y, class_names): per class count, mean and std of all pixels (uint8 images).",
        params=dict(seed=101, n=400),
    ),
    dict(
        id="cnn_sequential",
        step=3,
        name="Step 3: CNN in the Sequential style",
        kind="cnn",
        points=10,
        timeout=90,
        message="build_cnn_sequential(): the lecture's CNN-MNIST as keras.Sequential "
        "(Conv32-Conv64-MaxPool-Dropout-Flatten-Dense128-Dropout-Dense10, 1,199,882 parameters).",
        params=dict(
            function="build_cnn_sequential", style="sequential", signature=CNN_SIGNATURE, params=CNN_PARAMS, seed=102
        ),
    ),
    dict(
        id="cnn_functional",
        step=3,
        name="Step 3: CNN in the functional style",
        kind="cnn",
        points=10,
        timeout=90,
        message="build_cnn_functional(): the same network with keras.Model(inputs, outputs).",
        params=dict(
            function="build_cnn_functional", style="functional", signature=CNN_SIGNATURE, params=CNN_PARAMS, seed=103
        ),
    ),
    dict(
        id="cnn_weight_transfer",
        step=3,
        function="build_cnn_functional",
        name="Step 3: both styles agree after weight transfer",
        kind="weight_transfer",
        points=5,
        timeout=90,
        message="The functional CNN with the Sequential CNN's weights gives the same outputs.",
        params=dict(seed=104),
    ),
    dict(
        id="inception_module",
        step=6,
        function="inception_module",
        name="Step 6: Inception module",
        kind="inception_module",
        points=10,
        timeout=90,
        message="inception_module(x): four branches (1x1; 1x1->3x3; 1x1->5x5; 3x3 max-pool->1x1), "
        "'same' padding, ReLU, concatenated on channels (64+64+64+64 = 256).",
        params=dict(input_shape=[12, 12, 64], kwargs={}, seed=105),
    ),
    dict(
        id="inception_cnn",
        step=6,
        name="Step 6: CNN with the Inception module",
        kind="inception_cnn",
        points=5,
        timeout=90,
        message="build_inception_cnn(): 28x28x1 -> 10 probabilities, with a 4-branch, 256-channel Inception module.",
        params=dict(function="build_inception_cnn", channels=256, seed=106),
    ),
    dict(
        id="confusion_matrix",
        step=6,
        function="confusion_matrix",
        name="Step 6: confusion matrix",
        kind="confusion_matrix",
        points=10,
        timeout=60,
        message="confusion_matrix(y_true, y_pred, num_classes) equals scikit-learn's (rows = true class).",
        params=dict(seed=107, n=500, num_classes=10),
    ),
    dict(
        id="f1_scores",
        step=6,
        function="f1_scores",
        name="Step 6: per-class and macro F1",
        kind="f1_scores",
        points=10,
        timeout=60,
        message="f1_scores(cm) equals scikit-learn's f1_score(average=None) and its macro average.",
        params=dict(seed=108, n=500, num_classes=10),
    ),
    dict(
        id="best_config",
        step=7,
        function="best_config",
        name="Step 7: best_config is a valid TrainConfig",
        kind="best_config",
        points=5,
        timeout=60,
        message="best_config() returns a kit.train.TrainConfig that loads (TrainConfig.from_dict).",
        params={},
    ),
    dict(
        id="model",
        step=7,
        name="Step 7: your model's macro-F1 on the test set",
        kind="model",
        points=25,
        timeout=180,
        message="model.keras: 28x28x1 images -> 10 probabilities, scored by macro-F1 on the 10,000 test images "
        "(a valid model that outputs probabilities gets 5 points; thresholds 0.88 / 0.90 / 0.92 / 0.93).",
        params=dict(
            dataset="fashion_mnist",
            metric="macro_f1",  # its figure is the leaderboard column the manifest names
            num_classes=10,
            thresholds=[(0.0, 5), (0.88, 10), (0.90, 15), (0.92, 20), (0.93, 25)],
            max_mb=200,
        ),
    ),
]
