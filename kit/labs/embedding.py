"""Lab ``embedding``: the penultimate layer's features of a trained CNN, in 2-D, coloured by class.

Lecture "Deep learning: basics": deep learning starts from raw data (low-level features) and
forms the feature description of the objects itself. The homework's CNN is trained briefly;
the 128 features of its last hidden layer (``kit.visualize.features``) for test images are
embedded in 2-D with t-SNE (scikit-learn), beside the same embedding of the raw pixels.
Numbers: the silhouette score of the classes (scikit-learn) and the accuracy of a
5-nearest-neighbour classifier (5-fold cross-validation), in feature space against pixel space.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.metrics import silhouette_samples, silhouette_score
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from kit import visualize
from kit.labs._trained_cnn import trained_cnn
from kit.labs.common import LabPreset, LabResult, figure, save_figure

NAME = "embedding"
LECTURE = "Deep learning: basics"
CLAIM = (
    "Deep learning works on the raw data (low-level features) and forms the objects' feature description "
    "itself: in a trained network's penultimate layer the classes form separate clusters."
)

POINTS = 2000  # quick: test images embedded; smoke: the preset's test set (200)
UPPER_BODY = ("T-shirt/top", "Pullover", "Coat", "Shirt")  # the classes the homework's confusion matrix mixes up


def run(out_dir: Path, preset: LabPreset) -> LabResult:
    trained, data = trained_cnn(out_dir, preset)
    n = min(preset.pick(smoke=len(data.y_test), quick=POINTS), len(data.y_test))
    x, y = data.x_test[:n], data.y_test[:n]
    spaces = {"pixels": x.reshape(n, -1), "features": visualize.features(trained.model, x)}
    scores, points = {}, {}
    for label, values in spaces.items():
        scores[f"silhouette_{label}"] = float(silhouette_score(values, y, random_state=0))
        knn = KNeighborsClassifier(n_neighbors=5)
        scores[f"knn5_accuracy_{label}"] = float(cross_val_score(knn, values, y, cv=5).mean())
        points[label] = visualize.embed(values, "tsne", seed=0)

    fig, axes = figure(13, 6, ncols=2)
    for ax, (label, xy) in zip(axes, points.items(), strict=True):
        for c, name in enumerate(data.class_names):
            chosen = y == c
            ax.scatter(xy[chosen, 0], xy[chosen, 1], s=4, color=f"C{c}", label=name)
        ax.set(xticks=[], yticks=[])
        ax.set_title(f"t-SNE of the {label} (silhouette {scores[f'silhouette_{label}']:.2f})")
    axes[1].legend(markerscale=3, fontsize=8, loc="best")
    picture = save_figure(fig, out_dir / "embedding.png")

    per_image = silhouette_samples(spaces["features"], y)
    upper = np.isin(y, [data.class_names.index(name) for name in UPPER_BODY])
    scores["silhouette_features_upper_body"] = float(per_image[upper].mean()) if upper.any() else float("nan")
    scores["silhouette_features_other"] = float(per_image[~upper].mean()) if (~upper).any() else float("nan")
    measured = {key: round(value, 4) for key, value in scores.items()}
    measured.update(
        points=n,
        feature_dimensions=int(spaces["features"].shape[1]),
        test_accuracy=round(trained.evaluation.accuracy, 4),
    )
    text = (
        f"silhouette {scores['silhouette_features']:.2f} in feature space vs {scores['silhouette_pixels']:.2f} on "
        f"pixels, 5-NN accuracy {scores['knn5_accuracy_features']:.3f} vs {scores['knn5_accuracy_pixels']:.3f}"
    )
    tighter = scores["silhouette_features"] > scores["silhouette_pixels"]
    closer = scores["knn5_accuracy_features"] > scores["knn5_accuracy_pixels"]
    if tighter and closer:
        verdict = "agrees"
        explanation = f"The features separate the classes better than the pixels ({text})" + (
            f"; the upper-body garments overlap most (their silhouette {scores['silhouette_features_upper_body']:.2f}"
            f" vs {scores['silhouette_features_other']:.2f} for the other classes)."
            if scores["silhouette_features_upper_body"] < scores["silhouette_features_other"]
            else "."
        )
    elif tighter or closer:
        verdict = "partly"
        explanation = f"Only one of the two measures improves over the pixels ({text})."
    else:
        verdict = "disagrees"
        explanation = f"After this short training the features separate the classes no better than the pixels ({text})."
    return LabResult(measured=measured, verdict=verdict, explanation=explanation, pictures=[picture])
