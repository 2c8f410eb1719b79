"""Lab ``filters``: the first layer's filters and the activation maps of one image.

Lecture "CNN architectures" (visualising networks: first-layer filters; Zeiler & Fergus 2014).
The homework's CNN is trained briefly; its 32 first-layer 3x3 filters are drawn, trained and
at initialisation, with the 32 activation maps of one test image (``kit.visualize``). A number
for "edge detector": a filter counts as edge-like when its (ReLU) activation map follows the
image's edges (Sobel gradient magnitude, ``scipy.ndimage``) more closely than its brightness,
measured by correlation over test images. The same count on the untrained network is the baseline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from kit import models, visualize
from kit.labs._trained_cnn import MODEL, trained_cnn
from kit.labs.common import LabPreset, LabResult

NAME = "filters"
LECTURE = "CNN architectures"
CLAIM = (
    "Visualising a CNN: the first layer's filters can be shown as images, and they learn to detect "
    "edges and blobs; the activation maps show where in the image each filter responds."
)

IMAGES = 200  # quick: test images for the edge/brightness correlations; smoke: 20


def edge_likeness(maps: np.ndarray, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per filter: correlation of its activation maps with the images' edge strength, and with their brightness.

    ``maps``: (N, h, w, filters) of a 'valid' convolution of (N, H, W, 1) ``images``; the image
    is cropped to the maps' centre. A dead filter (constant output) gets 0 for both.
    """

    crop_y = (images.shape[1] - maps.shape[1]) // 2
    crop_x = (images.shape[2] - maps.shape[2]) // 2
    window = (slice(None), slice(crop_y, crop_y + maps.shape[1]), slice(crop_x, crop_x + maps.shape[2]))
    brightness = images[..., 0]
    edges = np.hypot(ndimage.sobel(brightness, axis=1), ndimage.sobel(brightness, axis=2))
    brightness, edges = brightness[window].reshape(-1), edges[window].reshape(-1)
    edge_corr, bright_corr = [], []
    for k in range(maps.shape[-1]):
        response = maps[..., k].reshape(-1)
        if response.std() == 0:
            edge_corr.append(0.0)
            bright_corr.append(0.0)
            continue
        edge_corr.append(float(np.corrcoef(response, edges)[0, 1]))
        bright_corr.append(float(np.corrcoef(response, brightness)[0, 1]))
    return np.asarray(edge_corr), np.asarray(bright_corr)


def run(out_dir: Path, preset: LabPreset) -> LabResult:
    trained, data = trained_cnn(out_dir, preset)
    untrained = models.build(MODEL)  # the same architecture at its initial weights (seed set by the lab runner)
    images = data.x_test[: preset.pick(smoke=20, quick=IMAGES)]
    counts = {}
    for label, model in (("trained", trained.model), ("untrained", untrained)):
        edge, bright = edge_likeness(visualize.activation_maps(model, images), images)
        alive = (edge != 0) | (bright != 0)
        counts[label] = {
            "edge_like": int(np.sum(alive & (edge > bright))),
            "alive": int(np.sum(alive)),
            "edge_corr": float(np.mean(edge[alive])) if alive.any() else 0.0,
        }

    pictures = [
        visualize.plot_filters(
            visualize.filters(trained.model), out_dir / "filters.png", title="first-layer filters, trained"
        ).name,
        visualize.plot_filters(
            visualize.filters(untrained),
            out_dir / "filters_untrained.png",
            title="first-layer filters, at initialisation",
        ).name,
    ]
    index = int(np.argmax(data.y_test == 9)) if (data.y_test == 9).any() else 0  # an ankle boot: clear edges
    one = data.x_test[index : index + 1]
    pictures.append(
        visualize.plot_activation_maps(
            one[0],
            visualize.activation_maps(trained.model, one)[0],
            out_dir / "activation_maps.png",
            title=f"first-layer activation maps of one test image ({data.class_names[int(data.y_test[index])]})",
        ).name
    )

    n_filters = visualize.filters(trained.model).shape[0]
    fraction = {label: c["edge_like"] / max(c["alive"], 1) for label, c in counts.items()}
    measured = {
        "filters": n_filters,
        "test_accuracy": round(float(trained.evaluation.accuracy), 4),
        "images": len(images),
    }
    for label, c in counts.items():
        measured[f"alive_filters_{label}"] = c["alive"]
        measured[f"edge_like_filters_{label}"] = c["edge_like"]
        measured[f"edge_like_fraction_{label}"] = round(fraction[label], 4)
        measured[f"mean_edge_correlation_{label}"] = round(c["edge_corr"], 4)
    text = (
        f"{counts['trained']['edge_like']} of {counts['trained']['alive']} working first-layer filters respond more to "
        f"edges than to brightness after training, against {counts['untrained']['edge_like']} of "
        f"{counts['untrained']['alive']} at initialisation"
    )
    majority = fraction["trained"] >= 0.5
    learned = fraction["trained"] > fraction["untrained"]
    if majority and learned:
        verdict = "agrees"
        explanation = (
            f"{text}; 3x3 filters are too small to look like the lecture's Gabor-like patches, "
            "but most act as edge detectors."
        )
    elif majority or learned:
        verdict = "partly"
        explanation = f"{text}: " + (
            "most are edge detectors, but random 3x3 filters already were."
            if majority
            else "training makes more of them edge detectors, but not most."
        )
    else:
        verdict = "disagrees"
        explanation = f"{text}: at this size and training budget the first layer mostly passes brightness on."
    return LabResult(measured=measured, verdict=verdict, explanation=explanation, pictures=pictures)
