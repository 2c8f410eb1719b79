# Broken: the std of each image, averaged over the class (misses how much images differ from each other).
def dataset_summary(x, y, class_names):
    x = np.asarray(x, dtype=np.float64)
    x = x.reshape(len(x), -1)
    y = np.asarray(y).reshape(-1)
    rows = [{"count": int(np.sum(y == c)), "mean": x[y == c].mean() if np.any(y == c) else np.nan,
             "std": x[y == c].std(axis=1).mean() if np.any(y == c) else np.nan} for c in range(len(class_names))]
    return pd.DataFrame(rows, index=list(class_names))
