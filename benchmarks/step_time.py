"""Where a training step's time goes, and the free leads (issue 41): threads, oneDNN, the input pipeline, the tricks.

Each lead is one child process (TensorFlow reads its thread and oneDNN settings once, at import),
timing ``best_config()``'s network (``resnet_fast``, batch 256, flips, weight EMA) with
``model.fit`` on the real training images: ``--warm`` steps untimed (tracing), then ``--steps``
timed steps. The baseline is the kit's way (numpy arrays into ``fit``, every setting at its
default); each other row changes one thing. Run on a quiet machine; ``--cgroup PATH`` runs every
child inside that cgroup v1 cpu folder (e.g. one throttled with ``cpu.cfs_quota_us`` to the slow
host type's throughput, as docs/performance.md says).

    python benchmarks/step_time.py                      # ~3 minutes on the AVX512-BF16 host
    python benchmarks/step_time.py --cgroup /sys/fs/cgroup/cpu/kitslow
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# lead -> (what it changes, environment variables, options of the child)
LEADS: dict[str, tuple[str, dict[str, str], dict]] = {
    "baseline": ("the kit's way: numpy arrays into fit, flips and EMA, TensorFlow's default threads", {}, {}),
    "no augmentation": ("without the flip layer (what augmentation costs)", {}, {"augmentation": ""}),
    "no EMA": ("without the weight EMA (what averaging costs)", {}, {"use_ema": False}),
    "inter-op 1": ("TensorFlow's inter-op threads 1 (default: the cores)", {"KIT_INTER_OP": "1"}, {}),
    "intra-op 1": ("TensorFlow's intra-op threads 1 (default: the cores)", {"KIT_INTRA_OP": "1"}, {}),
    "oneDNN off": ("TF_ENABLE_ONEDNN_OPTS=0 (Eigen's kernels)", {"TF_ENABLE_ONEDNN_OPTS": "0"}, {}),
    "tf.data": ("a cached, prefetched tf.data pipeline instead of numpy arrays", {}, {"pipeline": "tf.data"}),
}


def child(options: dict) -> dict:
    """Time the steps in this process (called with --child): images/s of the timed steps."""
    import importlib.util

    import tensorflow as tf

    if os.environ.get("KIT_INTER_OP"):
        tf.config.threading.set_inter_op_parallelism_threads(int(os.environ["KIT_INTER_OP"]))
    if os.environ.get("KIT_INTRA_OP"):
        tf.config.threading.set_intra_op_parallelism_threads(int(os.environ["KIT_INTRA_OP"]))
    sys.path.insert(0, str(ROOT))
    import keras

    from kit.data import load_fashion_mnist
    from kit.optimizers import make_loss, make_optimizer
    from kit.train import build_model

    spec = importlib.util.spec_from_file_location("_step_time_homework", ROOT / "solutions/fashion_mnist/homework.py")
    homework = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(homework)
    config = homework.best_config().replace(
        fit_to_host=False, **{k: v for k, v in options.items() if k in ("augmentation", "use_ema")}
    )
    data = load_fashion_mnist()
    model = build_model(config, data.input_shape, data.num_classes)
    model.compile(
        optimizer=make_optimizer(config.optimizer, 0.05, ema_momentum=config.ema_momentum if config.use_ema else None),
        loss=make_loss(False, 0.0),
        jit_compile=False,
    )
    warm, steps, batch = options["warm"], options["steps"], config.batch_size
    x, y = data.x_train[: (warm + steps) * batch], data.y_train[: (warm + steps) * batch]
    marks = {}

    class Stopwatch(keras.callbacks.Callback):
        def on_train_batch_begin(self, step, logs=None):
            if step == warm:
                marks["start"] = time.perf_counter()

        def on_train_end(self, logs=None):
            marks["end"] = time.perf_counter()

    if options.get("pipeline") == "tf.data":
        dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).cache().prefetch(tf.data.AUTOTUNE)
        model.fit(dataset, epochs=1, verbose=0, callbacks=[Stopwatch()])
    else:
        model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0, callbacks=[Stopwatch()])
    return {"images_per_second": steps * batch / (marks["end"] - marks["start"])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="timed steps per lead")
    parser.add_argument("--warm", type=int, default=5, help="untimed steps first (tracing)")
    parser.add_argument("--cgroup", help="a cgroup v1 cpu folder every child runs in (a throttled host)")
    parser.add_argument("--leads", nargs="+", choices=list(LEADS), default=list(LEADS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    rows = []
    for lead in args.leads:
        what, env, options = LEADS[lead]
        command = [sys.executable, __file__, "--child", json.dumps({**options, "warm": args.warm, "steps": args.steps})]
        if args.cgroup:
            command = ["sh", "-c", f'echo $$ > {args.cgroup}/cgroup.procs && exec "$@"', "sh", *command]
        finished = subprocess.run(
            command, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env}
        )
        if finished.returncode != 0:
            print(f"{lead}: failed\n{finished.stderr[-2000:]}", file=sys.stderr)
            return 1
        result = json.loads(finished.stdout.strip().splitlines()[-1])
        rows.append((lead, what, result["images_per_second"]))
        print(f"{lead}: {result['images_per_second']:,.0f} images/s", flush=True)
    base = rows[0][2]
    print("\n| lead | what it changes | training images/s | against the baseline |\n|---|---|---:|---:|")
    for lead, what, speed in rows:
        print(f"| {lead} | {what} | {speed:,.0f} | {speed / base:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
