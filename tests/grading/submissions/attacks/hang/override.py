# Attack: never return (busy loop; sleep far past the timeout).
def confusion_matrix(y_true, y_pred, num_classes):
    while True:
        pass


def f1_scores(cm):
    import time

    time.sleep(10 ** 6)
