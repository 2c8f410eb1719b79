# Broken: micro-F1 (= accuracy) instead of the macro average.
def f1_scores(cm):
    cm = np.asarray(cm, dtype=np.float64)
    denominator = cm.sum(axis=0) + cm.sum(axis=1)
    per_class = np.divide(2 * np.diag(cm), denominator, out=np.zeros(len(cm)), where=denominator > 0)
    return per_class, float(np.trace(cm) / cm.sum())
