# Attack: answers whose == is always True (an ndarray subclass and a float subclass).
class _AlwaysEqual(np.ndarray):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


class _Anything(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


def confusion_matrix(y_true, y_pred, num_classes):
    return np.zeros((num_classes, num_classes), dtype=np.int64).view(_AlwaysEqual)


def f1_scores(cm):
    return np.zeros(len(cm)).view(_AlwaysEqual), _Anything(0.0)
