"""``import kit``: quiet TensorFlow start-up (KIT_VERBOSE=1 to see it) and the kit's Keras objects registered.

A student's terminal and notebook show their own output only: no absl, oneDNN or CUDA-probing
lines, no tf.function retracing warnings. And every model the kit saves loads with
``keras.models.load_model(path)`` (safe mode) after ``import kit`` alone.
"""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import pytest

import kit

ROOT = Path(__file__).resolve().parent.parent

# A notebook cell's worth of Keras through the kit: several small models fitted and predicted (TensorFlow
# warns about retracing from the sixth), one saved and loaded.
KERAS_CELL = textwrap.dedent(
    """
    import keras
    import numpy as np

    for width in range(1, 8):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(width), keras.layers.Dense(2)])
        model.compile("adam", "mse")
        model.fit(np.zeros((8, 4)), np.zeros((8, 2)), verbose=0)
        model.predict(np.zeros((2, 4)), verbose=0)
    model.save("tiny.keras")
    keras.models.load_model("tiny.keras")
    print("fitted")
    """
)


def _student_env(**extra: str) -> dict:
    """The environment of a student's shell: the kit importable, none of the log settings the test suite uses."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "KIT_VERBOSE")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def _python(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=_student_env(**env), timeout=300
    )


def test_import_kit_writes_nothing_and_imports_no_keras(tmp_path):
    process = _python("import sys, kit; print('keras' in sys.modules, 'tensorflow' in sys.modules)", tmp_path)
    assert process.returncode == 0, process.stderr
    assert process.stderr == ""
    assert process.stdout == "False False\n"  # `python -m kit data --check` stays fast


@pytest.mark.slow
def test_keras_after_import_kit_is_quiet_and_kit_verbose_shows_it(tmp_path):
    process = _python("import kit\n" + KERAS_CELL, tmp_path)
    assert process.returncode == 0, process.stderr[-3000:]
    assert process.stdout == "fitted\n"
    assert process.stderr == ""  # no absl / oneDNN / cuInit lines, no retracing warnings

    if keras.backend.backend() != "tensorflow":
        return  # JAX prints nothing on a CPU either way
    verbose = _python("import kit\n" + KERAS_CELL, tmp_path, KIT_VERBOSE="1")
    assert verbose.returncode == 0, verbose.stderr[-3000:]
    assert "triggered tf.function retracing" in verbose.stderr  # what the kit silences, shown when asked


@pytest.mark.slow
def test_a_notebook_cell_writes_nothing_to_stderr(tmp_path, monkeypatch):
    """The cells a student runs in Jupyter (executed by a kernel through nbclient): only their own output."""
    import nbformat
    from nbclient import NotebookClient

    for name in ("TF_CPP_MIN_LOG_LEVEL", "KIT_VERBOSE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the kernel is started with this process's environment
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import kit"), nbformat.v4.new_code_cell(KERAS_CELL)]
    )
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [output for cell in notebook.cells for output in cell.outputs]
    assert [output.get("name") for output in outputs] == ["stdout"], outputs
    assert outputs[0]["text"] == "fitted\n"


# --------------------------------------------------------------------------- the kit's Keras objects
def _kit_modules() -> list[str]:
    """Every module of the kit but ``kit.__main__`` (importing it runs the command line)."""
    return ["kit"] + [info.name for info in pkgutil.walk_packages(kit.__path__, "kit.") if info.name != "kit.__main__"]


def _top_level_imports(module: str) -> set[str]:
    """The modules ``module`` imports at its top level (not inside functions), from its source."""
    spec = importlib.util.find_spec(module)
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            if node.module == "kit":  # from kit import errors
                found.update(f"kit.{alias.name}" for alias in node.names)
    return {name for name in found if importlib.util.find_spec(name.split(".")[0]) is not None}


def _imports_keras(module: str, seen: set[str]) -> bool:
    """Whether ``module`` imports Keras or TensorFlow at its top level, itself or through a kit module."""
    for name in _top_level_imports(module):
        if name.split(".")[0] in ("keras", "tensorflow"):
            return True
        if name.startswith("kit.") and name not in seen and importlib.util.find_spec(name) is not None:
            seen.add(name)
            if _imports_keras(name, seen):
                return True
    return False


def test_the_modules_registered_on_keras_import_import_no_kit_module_that_imports_keras():
    """kit/__init__ imports kit.SERIALIZABLES the moment Keras has loaded, maybe while another kit module
    is half-imported (it imported Keras): they must not need that module, or `import kit.models` would fail."""
    for module in kit.SERIALIZABLES:
        kit_imports = {name for name in _top_level_imports(module) if name.startswith("kit.")}
        offending = sorted(name for name in kit_imports if _imports_keras(name, {name}))
        assert not offending, f"{module} imports {offending}, which import Keras"


@pytest.mark.slow
@pytest.mark.backend_agnostic
def test_every_keras_object_the_kit_defines_is_registered_by_import_kit(tmp_path):
    for name in _kit_modules():  # every module of the kit imported: every registration made
        importlib.import_module(name)
    defined = sorted(name for name in keras.saving.get_custom_objects() if name.startswith("kit>"))
    assert "kit>Warmup" in defined and "kit>Maxout" in defined

    process = _python(
        "import kit, keras\nprint(sorted(n for n in keras.saving.get_custom_objects() if n.startswith('kit>')))",
        tmp_path,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    assert process.stdout.strip() == str(defined), "a module defining Keras objects is missing from kit.SERIALIZABLES"


TRAIN_AND_SAVE = """
import sys
from pathlib import Path

import numpy as np

from kit import models, optimizers, schedules, train
from kit.data import load_fashion_mnist

out = Path(sys.argv[1])
data = load_fashion_mnist().subset(train=256, val=64, test=64, seed=0)
config = train.TrainConfig(
    name="tiny", model="mlp", model_options={"activation": "maxout"}, schedule="cosine", warmup_epochs=0.5,
    epochs=1, batch_size=64, precision="float32",
)
run = train.train(config, data=data, out=out / "run", verbose=0)
assert run.model.optimizer.get_config()["learning_rate"]["class_name"] == "Warmup"  # saved with the model
mirrored = models.mirror_average(run.model)
optimizer = optimizers.make_optimizer("adam", schedules.warmup(1e-3, 4))
mirrored.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
mirrored.fit(data.x_train[:64], data.y_train[:64], verbose=0)
mirrored.save(out / "mirrored.keras")
images = data.x_test[:16]
np.save(out / "images.npy", images)
np.save(out / "run.npy", run.model.predict(images, verbose=0))
np.save(out / "mirrored.npy", mirrored.predict(images, verbose=0))
"""

LOAD = """
import sys
from pathlib import Path

import kit
import keras
import numpy as np

out = Path(sys.argv[1])
images = np.load(out / "images.npy")
for name, path in (("run", out / "run" / "model.keras"), ("mirrored", out / "mirrored.keras")):
    model = keras.models.load_model(path)  # safe mode
    np.testing.assert_allclose(model.predict(images, verbose=0), np.load(out / f"{name}.npy"), atol=1e-6)
    print(name, model.optimizer.get_config()["learning_rate"]["class_name"])
"""


@pytest.mark.slow
@pytest.mark.backend_agnostic
def test_models_the_kit_saves_load_in_safe_mode_after_import_kit_alone(tmp_path):
    """A run's model.keras (Maxout layers, a Warmup schedule in its optimizer) and a mirror-averaged model."""
    for script in (TRAIN_AND_SAVE, LOAD):
        process = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=_student_env(),
            timeout=600,
        )
        assert process.returncode == 0, process.stderr[-3000:]
    assert process.stdout.split("\n")[:2] == ["run Warmup", "mirrored Warmup"]
