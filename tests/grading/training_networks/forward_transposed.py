# ruff: noqa: F821 - a fragment appended to the solution's homework.py (which imports numpy as np)
# each kernel used transposed (PyTorch's Linear computes x @ W.T)
def forward_activations(x, weights, activation="tanh"):
    f = np.tanh if activation == "tanh" else (lambda z: np.maximum(z, 0)) if activation == "relu" else (lambda z: z)
    outputs = []
    for W in weights:
        x = f(x @ W.T)
        outputs.append(x)
    return np.stack(outputs)
