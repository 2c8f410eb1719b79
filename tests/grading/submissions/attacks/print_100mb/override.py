# Attack: flood the output (100 MB), then answer correctly.
_right_confusion_matrix = confusion_matrix


def confusion_matrix(y_true, y_pred, num_classes):
    import sys

    for _ in range(100):
        sys.stdout.write("x" * (1 << 20))
    return _right_confusion_matrix(y_true, y_pred, num_classes)
