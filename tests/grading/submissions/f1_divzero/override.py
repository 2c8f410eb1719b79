# Broken: divides by zero for a class with no images and no predictions (NaN instead of 0).
def f1_scores(cm):
    cm = np.asarray(cm, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_class = 2 * np.diag(cm) / (cm.sum(axis=0) + cm.sum(axis=1))
    return per_class, float(np.mean(per_class))
