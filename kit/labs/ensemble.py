"""Lab ``ensemble``: independently trained models, their predicted distributions averaged.

Lecture "Training networks, part 2" (model ensembles): train several models independently,
average their predicted distributions at test time and take the argmax. Here the members are
the same LeNet-5 (ReLU, max-pooling) trained from different seeds (initial weights and batch
order); ``kit.evaluate.ensemble`` averages them. The picture: test accuracy of the ensemble of
the first k members against k, with each member's own accuracy.
"""

from __future__ import annotations

from pathlib import Path

from kit.evaluate import ensemble
from kit.labs.common import LabPreset, LabResult, figure, lab_data, save_figure, train_variant

NAME = "ensemble"
LECTURE = "Training networks, part 2"
CLAIM = (
    "Model ensembles: train independent models and average their predicted distributions at test time; "
    "this gives about 2 % more."
)

MODEL = "lenet5"
MODEL_OPTIONS = {"activation": "relu", "pooling": "max"}
MEMBERS, EPOCHS = 5, 5  # quick; smoke: 2 members, the preset's epochs
BATCH_SIZE = 64
ABOUT = (0.01, 0.03)  # "about 2 %": a gain between one and three points of accuracy


def run(out_dir: Path, preset: LabPreset) -> LabResult:
    data = lab_data(preset)
    members = []
    for seed in range(preset.pick(smoke=2, quick=MEMBERS)):
        run = train_variant(
            out_dir,
            preset,
            data,
            f"member_{seed}",
            model=MODEL,
            model_options=MODEL_OPTIONS,
            epochs=preset.pick(smoke=preset.epochs, quick=EPOCHS),
            batch_size=BATCH_SIZE,
            seed=seed,
        )
        members.append(run)
    singles = [float(member.evaluation.accuracy) for member in members]
    probabilities = [member.evaluation.probabilities for member in members]
    by_size = [
        float(ensemble(probabilities[:k], data.x_test, data.y_test, data.class_names).accuracy)
        for k in range(1, len(members) + 1)
    ]
    picture = _plot(singles, by_size, out_dir / "ensemble.png")

    mean_single = sum(singles) / len(singles)
    gain = by_size[-1] - mean_single
    measured = {f"test_accuracy_member_{i}": round(a, 4) for i, a in enumerate(singles)}
    measured.update(
        members=len(members),
        mean_member_accuracy=round(mean_single, 4),
        best_member_accuracy=round(max(singles), 4),
        ensemble_accuracy=round(by_size[-1], 4),
        gain_over_mean_member=round(gain, 4),
        gain_over_best_member=round(by_size[-1] - max(singles), 4),
        test_images=len(data.y_test),
    )
    text = (
        f"the {len(members)}-model ensemble reaches {by_size[-1]:.3f} against {mean_single:.3f} for the average "
        f"member: {100 * gain:+.1f} points"
    )
    if ABOUT[0] <= gain <= ABOUT[1]:
        verdict = "agrees"
        explanation = f"On {len(data.y_test):,} test images {text}, close to the lecture's 2 %."
    elif gain > 0:
        verdict = "partly"
        explanation = (
            f"The ensemble helps but not by about 2 %: {text} (small, similar members trained on "
            f"{len(data.y_train):,} images)."
        )
    else:
        verdict = "disagrees"
        explanation = f"No gain here: {text}; the members make the same mistakes."
    return LabResult(measured=measured, verdict=verdict, explanation=explanation, pictures=[picture])


def _plot(singles: list[float], by_size: list[float], path: Path) -> str:
    fig, ax = figure(6, 4)
    sizes = list(range(1, len(by_size) + 1))
    ax.plot(sizes, by_size, marker="o", color="tab:red", label="ensemble of the first k members")
    ax.scatter(sizes, singles, color="tab:blue", label="member k alone")
    ax.axhline(sum(singles) / len(singles), color="tab:blue", linestyle="--", label="average member")
    ax.set(xlabel="k (members)", ylabel="test accuracy", title="averaging predicted distributions")
    ax.set_xticks(sizes)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)
