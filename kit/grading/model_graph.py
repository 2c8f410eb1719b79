"""Reading Keras model graphs as plain data: layer tokens, signatures, the branches of a module.

``describe(model)`` turns a live ``keras.Model`` into a JSON-able dict (class, parameters,
shapes, each layer's config, the functional config with its inbound nodes). It runs where the
model is: in the grader's trusted child (models loaded with safe mode) or in the student's own
process (the self-check). Everything else here reads only that dict, so the grader judges a
model without ever loading one.
"""

from __future__ import annotations

import json
from typing import Any


class GraphError(ValueError):
    """The model's graph is not what a check can read (message for the student)."""


# ------------------------------------------------------------------ a live model -> plain data


def _shape(shape) -> list:
    return [None if d is None else int(d) for d in shape]


def describe(model) -> dict[str, Any]:
    """A plain-data description of a Keras model (no weights): what the judges read."""
    layers = []
    for layer in model.layers:
        try:
            config = layer.get_config()
        except Exception:  # noqa: BLE001 - a custom layer without get_config
            config = {}
        try:
            output_shape = _shape(layer.output.shape)
        except Exception:  # noqa: BLE001 - a layer used several times has no single output
            output_shape = None
        layers.append(
            {"class_name": type(layer).__name__, "name": layer.name, "config": config, "output_shape": output_shape}
        )
    description = {
        "class_name": type(model).__name__,
        "params": int(model.count_params()),
        "input_shape": _shape(model.inputs[0].shape) if len(model.inputs) == 1 else None,
        "output_shape": _shape(model.outputs[0].shape) if len(model.outputs) == 1 else None,
        "n_inputs": len(model.inputs),
        "n_outputs": len(model.outputs),
        "layers": layers,
        "config": model.get_config(),
    }
    # plain JSON, as the grader reads it back from a child (tuples become lists, odd objects strings)
    return json.loads(json.dumps(description, default=str))


# ------------------------------------------------------------------ layers as readable tokens


def _size(value) -> str:
    return "x".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)


def _activation(config: dict) -> str:
    activation = config.get("activation")
    return activation if isinstance(activation, str) else str(activation)


def layer_token(layer: dict) -> str:
    """A readable signature of one layer, e.g. ``Conv2D(32, 3x3, relu)``."""
    kind, config = layer.get("class_name"), layer.get("config") or {}
    if kind == "Conv2D":
        extras = [] if list(config.get("strides", [1, 1])) == [1, 1] else [f"stride {_size(config.get('strides'))}"]
        extras += [] if config.get("padding", "valid") == "valid" else [str(config.get("padding"))]
        tail = "".join(", " + e for e in extras)
        return f"Conv2D({config.get('filters')}, {_size(config.get('kernel_size'))}, {_activation(config)}{tail})"
    if kind == "MaxPooling2D":
        return f"MaxPooling2D({_size(config.get('pool_size'))})"
    if kind == "Dropout":
        return f"Dropout({config.get('rate')})"
    if kind == "Dense":
        return f"Dense({config.get('units')}, {_activation(config)})"
    if kind == "Activation":
        return f"Activation({_activation(config)})"
    if kind == "ReLU" and not _plain_relu(config):
        knobs = ("max_value", "negative_slope", "threshold")
        return "ReLU(" + ", ".join(f"{k}={config.get(k)}" for k in knobs if config.get(k)) + ")"
    return str(kind)


def _plain_relu(config: dict) -> bool:
    return config.get("max_value") is None and not config.get("negative_slope") and not config.get("threshold")


# Layers that compute the same function read as one token: a standalone activation layer by what it
# computes, and a linear Dense or Conv2D directly followed by one as the layer with that activation.
_SAME = {"Activation(relu)": "ReLU", "Activation(softmax)": "Softmax"}
_ACTIVATION_OF = {"ReLU": "relu", "Softmax": "softmax"}


def equivalent(tokens: list[str]) -> list[str]:
    """Tokens (``signature``'s, or a rubric's) with equivalent layers read alike, so that either way passes.

    ``Activation("relu")`` and a plain ``ReLU()`` read ``ReLU``; ``Activation("softmax")`` and ``Softmax()``
    read ``Softmax``; ``Dense(10)`` (linear) directly followed by one of them reads ``Dense(10, softmax)``,
    as ``Dense(10, activation="softmax")`` does (the same for ``Conv2D``). A layer between them (BatchNorm)
    keeps them apart: ``Dense(256, linear) -> BatchNormalization -> ReLU`` stays three tokens.
    """
    found: list[str] = []
    for token in tokens:
        token = _SAME.get(token, token)
        activation = _ACTIVATION_OF.get(token) or (token[11:-1] if token.startswith("Activation(") else None)
        previous = found[-1] if found else ""
        if activation and previous.startswith(("Dense(", "Conv2D(")) and ", linear" in previous:
            found[-1] = previous.replace(", linear", f", {activation}", 1)
            continue
        found.append(token)
    return found


# Keras' initialisers as the variance rule they draw from: (scale, mode) of VarianceScaling.
VARIANCE_RULES = {
    "HeNormal": (2.0, "fan_in"),
    "HeUniform": (2.0, "fan_in"),
    "LecunNormal": (1.0, "fan_in"),
    "LecunUniform": (1.0, "fan_in"),
    "GlorotNormal": (1.0, "fan_avg"),
    "GlorotUniform": (1.0, "fan_avg"),
}


def kernel_initializer(layer: dict) -> tuple[str, tuple[float, str] | None]:
    """(the initialiser's class name, its variance rule (scale, mode) or None) of a layer's ``kernel_initializer``.

    ``"he_normal"``, ``HeNormal(seed=1)`` and ``VarianceScaling(2.0, "fan_in")`` have the same rule.
    """
    value = (layer.get("config") or {}).get("kernel_initializer")
    if isinstance(value, str):
        name = "".join(part.capitalize() for part in value.split("_"))
        config: dict = {}
    elif isinstance(value, dict):
        name, config = str(value.get("class_name")), value.get("config") or {}
    else:
        return "none", None
    if name == "VarianceScaling":
        return name, (float(config.get("scale", 1.0)), str(config.get("mode", "fan_in")))
    return name, VARIANCE_RULES.get(name)


def pool_token(layer: dict) -> str:
    """A max-pool with its stride and padding, e.g. ``MaxPooling2D(3x3, stride 1x1, same)``."""
    config = layer.get("config") or {}
    return (
        f"MaxPooling2D({_size(config.get('pool_size'))}, stride {_size(config.get('strides'))}, "
        f"{config.get('padding')})"
    )


def signature(description: dict) -> list[str]:
    """The layer tokens of a model, in order, without the input layer."""
    return [layer_token(layer) for layer in description.get("layers", []) if layer.get("class_name") != "InputLayer"]


# ------------------------------------------------------------------ the functional graph


def graph(description: dict) -> tuple[dict, dict, list[str], list[str]]:
    """(layers by name, inbound layer names by name, input layer names, output layer names) of a Functional config."""
    config = description.get("config") or {}
    layers, inbound = {}, {}

    def histories(value):
        if isinstance(value, dict):
            history = (
                (value.get("config") or {}).get("keras_history")
                if value.get("class_name") == "__keras_tensor__"
                else None
            )
            if history:
                yield history[0]
            for item in value.values():
                yield from histories(item)
        elif isinstance(value, list | tuple):
            for item in value:
                yield from histories(item)

    for layer in config.get("layers", []):
        name = layer.get("name") or (layer.get("config") or {}).get("name")
        layers[name] = layer
        inbound[name] = list(histories(layer.get("inbound_nodes", [])))

    def first(entries):  # [[name, node, index], ...] or, for one tensor, [name, node, index]
        if isinstance(entries, list) and entries and isinstance(entries[0], str):
            return [entries[0]]
        return [entry[0] for entry in entries or [] if isinstance(entry, list) and entry]

    return layers, inbound, first(config.get("input_layers", [])), first(config.get("output_layers", []))


def branches(description: dict, max_depth: int = 10) -> tuple[dict, list[list[dict]]]:
    """(the output layer, each of its inputs' chains of layers back to the model's input, input first).

    Raises ``GraphError`` when a branch does not lead back to the input or merges on the way.
    """
    layers, inbound, inputs, outputs = graph(description)
    if len(outputs) != 1 or outputs[0] not in layers:
        raise GraphError("the module must return one tensor.")
    chains = []
    for start in inbound.get(outputs[0], []):
        chain, name = [], start
        while name not in inputs:
            if name not in layers or len(chain) > max_depth:
                raise GraphError("a branch of the module does not lead back to the module's input.")
            chain.append(layers[name])
            parents = inbound.get(name, [])
            if len(parents) != 1:
                raise GraphError(f"layer {name!r} inside a branch merges several tensors; each branch is a chain.")
            name = parents[0]
        chains.append(list(reversed(chain)))
    return layers[outputs[0]], chains
