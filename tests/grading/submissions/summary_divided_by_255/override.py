# Broken: scales the images to 0..1 first, so mean and std are 255 times too small.
def dataset_summary(x, y, class_names):
    x = np.asarray(x, dtype=np.float64) / 255.0
    y = np.asarray(y).reshape(-1)
    rows = [{"count": int(np.sum(y == c)), "mean": x[y == c].mean() if np.any(y == c) else np.nan,
             "std": x[y == c].std() if np.any(y == c) else np.nan} for c in range(len(class_names))]
    return pd.DataFrame(rows, index=list(class_names))
