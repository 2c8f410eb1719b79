"""Lab ``grad-cam``: where the trained network looks, on correct and on most-confused test images.

Grad-CAM (Selvaraju et al. 2017; keras-io's "Grad-CAM class activation visualization") weights
the last convolution's maps by the gradient of the class score and keeps the positive part:
the regions that raised the score (``kit.visualize.grad_cam``). The homework's CNN is trained
briefly; the pictures show the most confident correct test images (one per class) and the
images of the most confused pair of classes (``kit.evaluate``'s ``most_confused``). A number:
the share of the heat that falls on the garment (pixels brighter than ``OBJECT_LEVEL``) against
the garment's share of the image, what a uniform map would give; and the same for the band
of ``OUTLINE`` pixels around the garment's edge (its silhouette).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from kit import visualize
from kit.labs._trained_cnn import trained_cnn
from kit.labs.common import LabPreset, LabResult

NAME = "grad-cam"
LECTURE = "CNN architectures"
CLAIM = (
    "Visualising a CNN: project what a deep layer responds to back onto the pixels; Grad-CAM shows where "
    "the network looks, and on correctly classified images that is the object itself."
)

OBJECT_LEVEL = 0.1  # a pixel brighter than this (images in [0, 1]) is part of the garment
SHOWN = 8  # images per picture
OUTLINE = 2  # pixels on either side of the garment's edge that count as its outline


def heat_share(heatmaps: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per image: the share of the Grad-CAM heat inside ``masks``, and the masks' share of the image."""
    total = heatmaps.sum(axis=(1, 2))
    inside = np.divide((heatmaps * masks).sum(axis=(1, 2)), total, out=np.zeros_like(total), where=total > 0)
    return inside, masks.mean(axis=(1, 2))


def object_masks(images: np.ndarray) -> np.ndarray:
    """The garment: pixels brighter than ``OBJECT_LEVEL``, (N, H, W) bool."""
    return images[..., 0] > OBJECT_LEVEL


def outline_masks(images: np.ndarray, width: int = OUTLINE) -> np.ndarray:
    """The band of ``width`` pixels on either side of the garment's edge (its silhouette), (N, H, W) bool."""
    masks = object_masks(images)
    plane = np.zeros((3, 3, 3), bool)
    plane[1] = ndimage.generate_binary_structure(2, 1)  # grow and shrink within each image, not across images
    grown = ndimage.binary_dilation(masks, plane, iterations=width)
    shrunk = ndimage.binary_erosion(masks, plane, iterations=width, border_value=1)
    return grown & ~shrunk


def run(out_dir: Path, preset: LabPreset) -> LabResult:
    trained, data = trained_cnn(out_dir, preset)
    evaluation = trained.evaluation
    names = data.class_names
    correct = np.flatnonzero(evaluation.y_pred == evaluation.y_true)
    wrong = np.flatnonzero(evaluation.y_pred != evaluation.y_true)
    confident = evaluation.probabilities[np.arange(len(evaluation.y_true)), evaluation.y_pred]
    # most confident correct image of each class, for the picture
    shown_correct = []
    for c in range(len(names)):
        of_class = correct[evaluation.y_true[correct] == c]
        if len(of_class):
            shown_correct.append(int(of_class[np.argmax(confident[of_class])]))
    shown_correct = shown_correct[:SHOWN]
    true_class, predicted_class = (
        (evaluation.most_confused[0][0], evaluation.most_confused[0][1]) if evaluation.most_confused else (None, None)
    )
    pair = wrong[(evaluation.y_true[wrong] == true_class) & (evaluation.y_pred[wrong] == predicted_class)]
    shown_confused = [int(i) for i in pair[np.argsort(-evaluation.losses[pair])][:SHOWN]]

    x = data.x_test
    cam_correct = visualize.grad_cam(trained.model, x[correct], classes=evaluation.y_pred[correct])
    cam_wrong = visualize.grad_cam(trained.model, x[wrong], classes=evaluation.y_pred[wrong]) if len(wrong) else None
    share_correct, area_correct = heat_share(cam_correct, object_masks(x[correct]))
    outline_share, outline_area = heat_share(cam_correct, outline_masks(x[correct]))
    position = {int(i): k for k, i in enumerate(correct)}
    pictures = [
        visualize.plot_grad_cam(
            x[shown_correct],
            cam_correct[[position[i] for i in shown_correct]],
            [f"{names[evaluation.y_true[i]]} {confident[i]:.2f}" for i in shown_correct],
            out_dir / "grad_cam_correct.png",
            title="Grad-CAM of the predicted class: confident correct test images",
        ).name
    ]
    measured = {
        "test_accuracy": round(float(evaluation.accuracy), 4),
        "correct_images": len(correct),
        "heat_on_object_correct": round(float(share_correct.mean()), 4),
        "object_area_correct": round(float(area_correct.mean()), 4),
        "heat_ratio_correct": round(float(share_correct.mean() / area_correct.mean()), 4),
        "heat_on_outline_correct": round(float(outline_share.mean()), 4),
        "outline_area_correct": round(float(outline_area.mean()), 4),
    }
    if cam_wrong is not None:
        share_wrong, area_wrong = heat_share(cam_wrong, object_masks(x[wrong]))
        measured.update(
            wrong_images=len(wrong),
            heat_on_object_wrong=round(float(share_wrong.mean()), 4),
            object_area_wrong=round(float(area_wrong.mean()), 4),
            heat_ratio_wrong=round(float(share_wrong.mean() / area_wrong.mean()), 4),
        )
    if shown_confused:
        where = {int(i): k for k, i in enumerate(wrong)}
        pictures.append(
            visualize.plot_grad_cam(
                x[shown_confused],
                cam_wrong[[where[i] for i in shown_confused]],
                [f"{names[true_class]} -> {names[predicted_class]} {confident[i]:.2f}" for i in shown_confused],
                out_dir / "grad_cam_confused.png",
                title=f"most confused: {names[true_class]} predicted as {names[predicted_class]}",
            ).name
        )
        measured["most_confused_count"] = int(evaluation.most_confused[0][2])

    ratio = measured["heat_ratio_correct"]
    text = (
        f"on correctly classified test images {100 * measured['heat_on_object_correct']:.0f} % of the heat lies on "
        f"the garment, which covers {100 * measured['object_area_correct']:.0f} % of the image (x{ratio:.2f})"
    )
    if "heat_ratio_wrong" in measured:
        text += f"; on misclassified ones x{measured['heat_ratio_wrong']:.2f}"
    if ratio > 1.0:
        verdict = "agrees"
        explanation = f"The network looks at the object: {text}."
    else:
        verdict = "disagrees"
        explanation = (
            f"The heat is not concentrated on the object: {text}. It leans towards the outline: "
            f"{100 * measured['heat_on_outline_correct']:.0f} % of it lies within {OUTLINE} pixels of the garment's "
            f"edge, a band covering {100 * measured['outline_area_correct']:.0f} % of the image "
            f"(x{measured['heat_on_outline_correct'] / measured['outline_area_correct']:.2f})."
        )
    return LabResult(measured=measured, verdict=verdict, explanation=explanation, pictures=pictures)
