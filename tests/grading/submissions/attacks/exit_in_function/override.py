# Attack: leave from inside the graded functions.
def confusion_matrix(y_true, y_pred, num_classes):
    import sys

    sys.exit(0)


def f1_scores(cm):
    import os

    os._exit(0)
