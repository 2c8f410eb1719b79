"""What a trained CNN learned (lecture "CNN architectures": visualising networks).

First-layer filters and the activation maps of one image (Zeiler & Fergus 2014), Grad-CAM
heatmaps of where the network looks (Selvaraju et al. 2017) and the penultimate layer's
features for a 2-D embedding (t-SNE or PCA from scikit-learn). Everything reads a Keras
model's own layers: sub-models are cut out of the graph with ``keras.Model(inputs, outputs)``
(Keras 3 accepts an intermediate layer's output as the input of a sub-model), so the same
code serves Sequential and functional networks, under TensorFlow and JAX.

Grad-CAM needs one gradient, and ``keras.ops`` has no gradient API: ``_gradient`` is the one
backend-specific function (a TensorFlow, a JAX and a PyTorch branch, as Keras' own examples
use ``tf.GradientTape`` / ``jax.grad``); the rest is ``keras.ops`` and numpy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import ops
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits

from kit.errors import check_name
from kit.figures import new_figure, save_figure
from kit.models import single_view

__all__ = [
    "conv_layers",
    "first_conv_layer",
    "last_conv_layer",
    "filters",
    "activation_maps",
    "features",
    "grad_cam",
    "embed",
    "plot_filters",
    "plot_activation_maps",
    "plot_grad_cam",
    "plot_embedding",
]

EMBEDDINGS: tuple[str, ...] = ("tsne", "pca")


# --------------------------------------------------------------------------- layers
def conv_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's 2-D convolution layers (plain, separable, depthwise), in graph order."""
    kinds = (keras.layers.Conv2D, keras.layers.SeparableConv2D, keras.layers.DepthwiseConv2D)
    return [layer for layer in single_view(model).layers if isinstance(layer, kinds)]


def _check_model(model) -> keras.Model:
    if not isinstance(model, keras.Model):
        raise ValueError(f"expected a Keras model; got {type(model).__name__}.")
    if not model.inputs:
        raise ValueError(f"model {model.name!r} has not been built on an input; build or call it first.")
    return single_view(model)  # a mirror-averaged model is explained through its network


def _conv_layer(model: keras.Model, layer: str | keras.layers.Layer | None, which: int) -> keras.layers.Layer:
    model = _check_model(model)
    convs = conv_layers(model)
    if layer is not None:
        if isinstance(layer, keras.layers.Layer):
            return layer
        names = [lay.name for lay in model.layers]
        if layer not in names:
            raise ValueError(f"model {model.name!r} has no layer {layer!r}; valid names: {', '.join(names)}.")
        return model.get_layer(layer)
    if not convs:
        raise ValueError(f"model {model.name!r} has no Conv2D layer to visualise.")
    return convs[which]


def first_conv_layer(model: keras.Model) -> keras.layers.Layer:
    """The first convolution: its filters look at pixels, so they can be drawn as images."""
    return _conv_layer(model, None, 0)


def last_conv_layer(model: keras.Model) -> keras.layers.Layer:
    """The last convolution or block output that the graph can be cut at: Grad-CAM's layer.

    Its maps are the most semantic that still keep positions. A convolution inside a block (a
    branch of an Inception module) is no cut, since the other branches bypass it; the block's
    output (the concatenation, the residual addition) is then taken.
    """
    model = _check_model(model)
    skipped = (keras.layers.Dropout, keras.layers.MaxPooling2D, keras.layers.AveragePooling2D, keras.layers.Flatten)
    for layer in reversed(model.layers):
        output = getattr(layer, "output", None)
        if output is None or len(output.shape) != 4 or isinstance(layer, skipped):
            continue
        try:
            _sub_model(model, output, _classifier(model).input)
        except ValueError:
            continue
        return layer
    raise ValueError(f"model {model.name!r} has no convolutional layer whose maps feed the classifier.")


def filters(model: keras.Model, layer: str | keras.layers.Layer | None = None) -> np.ndarray:
    """Kernel of a convolution as (n_filters, height, width, in_channels), float32 (default: the first)."""
    conv = _conv_layer(model, layer, 0)
    kernel = ops.convert_to_numpy(conv.kernel).astype("float32")  # (kh, kw, cin, n)
    return np.transpose(kernel, (3, 0, 1, 2))


def _sub_model(model: keras.Model, inputs, outputs) -> keras.Model:
    return keras.Model(inputs, outputs, name=f"{model.name}_part")


def activation_maps(
    model: keras.Model, images: np.ndarray, layer: str | keras.layers.Layer | None = None, *, batch_size: int = 256
) -> np.ndarray:
    """Outputs of ``layer`` (default: the first convolution) for ``images``: (N, H', W', channels)."""
    model = _check_model(model)
    target = _conv_layer(model, layer, 0)
    part = _sub_model(model, model.inputs, target.output)
    return np.asarray(part.predict(np.asarray(images), batch_size=batch_size, verbose=0), dtype="float32")


def _classifier(model: keras.Model) -> keras.layers.Dense:
    last = model.layers[-1]
    if not isinstance(last, keras.layers.Dense):
        raise ValueError(
            f"model {model.name!r} must end in a Dense classifier for its penultimate features; "
            f"its last layer is {type(last).__name__}."
        )
    return last


def features(model: keras.Model, images: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
    """The penultimate layer's features (the input of the final Dense classifier): (N, D) float32."""
    model = _check_model(model)
    part = _sub_model(model, model.inputs, _classifier(model).input)
    out = part.predict(np.asarray(images), batch_size=batch_size, verbose=0)
    return np.asarray(out, dtype="float32").reshape(len(images), -1)


# --------------------------------------------------------------------------- Grad-CAM
def _gradient(function: Callable[[Any], Any], x: np.ndarray) -> np.ndarray:
    """d sum(function(x)) / dx as numpy: the one backend-specific step (``keras.ops`` has no gradients).

    A TensorFlow, a JAX and a PyTorch branch; each is what Keras' own examples do on that backend.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tensor = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(tensor)
            total = tf.reduce_sum(function(tensor))
        return tape.gradient(total, tensor).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(lambda value: ops.sum(function(value)))(jax.numpy.asarray(x)))
    if backend == "torch":
        import torch

        tensor = torch.as_tensor(x).requires_grad_(True)
        (grad,) = torch.autograd.grad(function(tensor).sum(), tensor)
        return grad.detach().cpu().numpy()
    raise ValueError(f"Grad-CAM needs gradients; backend {backend!r} is not supported (tensorflow, jax, torch).")


def grad_cam(
    model: keras.Model,
    images: np.ndarray,
    classes: Sequence[int] | np.ndarray | None = None,
    layer: str | keras.layers.Layer | None = None,
    *,
    batch_size: int = 256,
) -> np.ndarray:
    """Grad-CAM heatmaps (Selvaraju et al. 2017), (N, H, W) in [0, 1] at the images' size.

    For each image, the class score (the logit before softmax) is differentiated with respect to
    the maps A of ``layer`` (default: ``last_conv_layer``); each channel is weighted by the mean of
    its gradient and ``ReLU(sum_k w_k A_k)`` is kept: the regions that raise the score. ``classes``:
    the class to explain per image (default: the predicted one). Maps are bilinearly resized to
    the image and scaled to a maximum of 1 (an all-zero map stays zero).
    """
    model = _check_model(model)
    images = np.asarray(images, dtype="float32")
    target = last_conv_layer(model) if layer is None else _conv_layer(model, layer, -1)
    classifier = _classifier(model)
    to_maps = _sub_model(model, model.inputs, target.output)
    # The rest of the network, from the maps to the penultimate features (then the logits by hand,
    # because the classifier's softmax is fused into its Dense layer).
    try:
        to_features = _sub_model(model, target.output, classifier.input)
    except ValueError:
        raise ValueError(
            f"layer {target.name!r} is inside a block that other paths bypass; Grad-CAM needs a layer "
            f"all of the network's information flows through (e.g. {last_conv_layer(model).name!r})."
        ) from None
    maps = np.asarray(to_maps.predict(images, batch_size=batch_size, verbose=0), dtype="float32")
    if classes is None:
        classes = np.argmax(model.predict(images, batch_size=batch_size, verbose=0), axis=-1)
    classes = np.asarray(classes, dtype="int64").reshape(-1)
    if len(classes) != len(images):
        raise ValueError(f"classes has {len(classes)} entries for {len(images)} images; give one per image.")
    one_hot = np.eye(int(classifier.units), dtype="float32")[classes]
    kernel, bias = classifier.kernel, classifier.bias

    def class_score(a, mask):
        h = to_features(a, training=False)
        logits = ops.matmul(ops.reshape(h, (ops.shape(h)[0], -1)), kernel)
        if bias is not None:
            logits = logits + bias
        return ops.sum(logits * mask, axis=-1)

    grads = (
        np.concatenate(
            [
                _gradient(lambda a, m=one_hot[i : i + batch_size]: class_score(a, m), maps[i : i + batch_size])
                for i in range(0, len(maps), batch_size)
            ]
        )
        if len(maps)
        else np.zeros_like(maps)
    )
    weights = grads.mean(axis=(1, 2), keepdims=True)  # alpha_k: global-average-pooled gradients
    cam = np.maximum((weights * maps).sum(axis=-1), 0.0)  # (N, h, w)
    height, width = images.shape[1:3]
    cam = np.asarray(ops.convert_to_numpy(ops.image.resize(cam[..., None], (height, width))))[..., 0]
    cam = np.maximum(cam, 0.0)
    peak = cam.max(axis=(1, 2), keepdims=True)
    return np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0).astype("float32")


# --------------------------------------------------------------------------- embeddings
def embed(values: np.ndarray, method: str = "tsne", *, seed: int = 0) -> np.ndarray:
    """(N, D) -> (N, 2) with scikit-learn's t-SNE (``tsne``, PCA-initialised) or PCA (``pca``)."""
    check_name("embedding method", method, EMBEDDINGS)
    values = np.asarray(values, dtype="float32").reshape(len(values), -1)
    if len(values) < 3:
        raise ValueError(f"an embedding needs at least 3 points; got {len(values)}.")
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(values)
    perplexity = float(min(30.0, (len(values) - 1) / 3))
    # One BLAS/OpenMP thread: beside Keras' own thread pools, t-SNE's threads fight for the cores
    # (200 points took 34 s with the default threads against 2 s with one, on the 2-core CPU).
    with threadpool_limits(limits=1):
        return TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed).fit_transform(values)


# --------------------------------------------------------------------------- pictures
def _grid(n: int, columns: int) -> tuple[int, int]:
    columns = max(1, min(columns, n))
    return int(np.ceil(n / columns)), columns


def plot_filters(kernels: np.ndarray, path: str | Path, *, title: str = "first-layer filters") -> Path:
    """Each filter (n, h, w, c) as a small grey image, own colour scale centred on 0 (blue < 0 < red)."""
    kernels = np.asarray(kernels)
    rows, cols = _grid(len(kernels), 8)
    figure = new_figure(1.1 * cols, 1.1 * rows + 0.4)
    axes = figure.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < len(kernels):
            w = kernels[i].mean(axis=-1)  # several input channels: their mean
            limit = float(np.abs(w).max()) or 1.0
            ax.imshow(w, cmap="bwr", vmin=-limit, vmax=limit)
            ax.set_title(str(i), fontsize=7)
    figure.suptitle(title)
    return save_figure(figure, path, dpi=110)


def plot_activation_maps(image: np.ndarray, maps: np.ndarray, path: str | Path, *, title: str = "") -> Path:
    """One image and its activation maps (h, w, channels), one small panel per channel."""
    maps = np.asarray(maps)
    n = maps.shape[-1] + 1
    rows, cols = _grid(n, 9)
    figure = new_figure(1.1 * cols, 1.1 * rows + 0.4)
    axes = figure.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i == 0:
            ax.imshow(np.asarray(image)[..., 0], cmap="gray")
            ax.set_title("input", fontsize=7)
        elif i < n:
            ax.imshow(maps[..., i - 1], cmap="viridis")
            ax.set_title(str(i - 1), fontsize=7)
    figure.suptitle(title or "activation maps")
    return save_figure(figure, path, dpi=110)


def plot_grad_cam(
    images: np.ndarray, heatmaps: np.ndarray, captions: Sequence[str], path: str | Path, *, title: str = "Grad-CAM"
) -> Path:
    """Images with their Grad-CAM heatmap laid over them (jet, half transparent), one caption each."""
    rows, cols = _grid(len(images), 8)
    figure = new_figure(1.5 * cols, 1.7 * rows + 0.4)
    axes = figure.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < len(images):
            ax.imshow(np.asarray(images[i])[..., 0], cmap="gray")
            ax.imshow(heatmaps[i], cmap="jet", alpha=0.45, vmin=0, vmax=1)
            ax.set_title(captions[i], fontsize=6)
    figure.suptitle(title)
    return save_figure(figure, path, dpi=110)


def plot_embedding(
    points: np.ndarray, labels: np.ndarray, class_names: Sequence[str], path: str | Path, *, title: str = ""
) -> Path:
    """2-D points coloured by class (tab10), with a legend of class names."""
    figure = new_figure(7, 6)
    ax = figure.add_subplot()
    for c, name in enumerate(class_names):
        chosen = np.asarray(labels) == c
        ax.scatter(points[chosen, 0], points[chosen, 1], s=4, color=f"C{c % 10}", label=name)
    ax.legend(markerscale=3, fontsize=7, loc="best")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    return save_figure(figure, path, dpi=110)
