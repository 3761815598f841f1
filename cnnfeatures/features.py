"""Section 3a: what a CNN learns. Feature extraction through a forward hook, and intra-/inter-class variances.

``part3.ipynb`` imports this module. Check your code from this folder with ``python check_features.py``.

Definitions used by :func:`class_variances` (they are graded exactly): with N samples x_i (rows of ``features``),
class counts n_c, class means m_c and the global mean m,

* intra-class variance of class c:  (1/n_c) sum_{i in c} ||x_i - m_c||^2
* within-class variance:            (1/N) sum_c sum_{i in c} ||x_i - m_c||^2   (= sum_c (n_c/N) intra_c)
* between-class variance:           (1/N) sum_c n_c ||m_c - m||^2
* total variance:                   (1/N) sum_i ||x_i - m||^2                 (= within + between)
* ratio:                            between / within
"""
import numpy as np
import torch
from tqdm import tqdm  # the plain bar: tqdm.auto warns "IProgress not found" in a notebook without ipywidgets


def extract_features(model, layer_name, loader, channels=None, pool=None, device="cpu"):
    """The output of the layer named ``layer_name`` for every image of ``loader``, flattened, with the labels.

    The layer's output is caught with a forward hook on ``model.get_submodule(layer_name)``; the model runs in
    ``eval()`` mode under ``torch.no_grad()``, with a tqdm progress bar over the batches. Afterwards the hook is
    removed and the model is back in the training mode it had before (also when something fails).

    Args:
        model: a torch.nn.Module.
        layer_name: the dotted name of a submodule, as in ``model.named_modules()`` (e.g. "layer1.0.conv1",
            "features.3", "avgpool").
        loader: iterable of (images, labels) batches (a DataLoader): images a float tensor (B, 3, H, W), labels an
            integer tensor (B,).
        channels: None (all) or a sequence of channel indices (dimension 1 of the layer's output: the channels of a
            conv layer, the neurons of an FC layer) to keep, in that order.
        pool: None (keep every position), "avg" or "max": for an output (B, C, H, W) (or any rank > 2), average or
            maximum over the spatial positions, giving (B, C). Ignored for a 2-D output (B, C).
    Returns:
        features: float32 numpy array (N, D), one row per image in loader order: the (selected, pooled) output of
            the layer flattened per image, e.g. D = C * H * W without pooling.
        labels: int64 numpy array (N,), the labels of the images, in the same order.
    Raises:
        ValueError: ``pool`` is not None, "avg" or "max"; or the layer never ran during the model's forward pass.
        AttributeError: no submodule is called ``layer_name``.
    """
    if pool not in (None, "avg", "max"):
        raise ValueError(f"pool must be None, 'avg' or 'max', not {pool!r}")
    features, labels = None, None
    # BEGIN SOLUTION
    layer = model.get_submodule(layer_name)
    caught = []

    def hook(_module, _inputs, output):
        if isinstance(output, (tuple, list)):  # e.g. an RNN returns (output, state)
            output = output[0]
        caught.append(output.detach())

    was_training = model.training
    handle = layer.register_forward_hook(hook)
    rows, label_rows = [], []
    try:
        model.eval()
        with torch.no_grad():
            for images, targets in tqdm(loader, desc=f"features of {layer_name}", leave=False):
                caught.clear()
                model(images.to(device))
                if not caught:
                    raise ValueError(f"layer {layer_name!r} did not run during the model's forward pass")
                out = caught[-1]
                if channels is not None:
                    out = out[:, list(channels)]
                if pool is not None and out.dim() > 2:
                    spatial = out.flatten(2)
                    out = spatial.mean(dim=2) if pool == "avg" else spatial.amax(dim=2)
                rows.append(out.reshape(out.shape[0], -1).to("cpu", torch.float32).numpy())
                label_rows.append(torch.as_tensor(targets).reshape(-1).to("cpu", torch.int64).numpy())
    finally:
        handle.remove()
        model.train(was_training)
    if rows:
        features = np.concatenate(rows, axis=0)
        labels = np.concatenate(label_rows, axis=0)
    else:
        features, labels = np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.int64)
    # END SOLUTION
    return features, labels


def class_variances(features, labels):
    """Intra-class, within-class, between-class and total variance of ``features`` grouped by ``labels``.

    Exactly the definitions of this module's docstring. Sums are accumulated in float64 (also for float32 input),
    labels may be any integers (not only 0..C-1), a class may have a single sample (its intra-class variance is 0),
    and N may be in the hundreds of thousands: no (N, N) matrix and no float64 copy of all of ``features`` at once.

    Args:
        features: float array (N, D), N >= 1, one row per sample (float32 or float64).
        labels: integer array (N,), the class of each row.
    Returns:
        dict with
            "classes": int64 array (C,), the distinct labels, sorted;
            "counts": int64 array (C,), n_c for each of "classes";
            "intra": float64 array (C,), the intra-class variance of each of "classes";
            "within", "between", "total": Python floats;
            "ratio": Python float, between / within (inf when within is 0 and between is not, nan when both are 0).
    Raises:
        ValueError: features is not 2-D, or labels does not have one entry per row, or N is 0.
    """
    features = np.asarray(features)
    labels = np.asarray(labels).reshape(-1)
    if features.ndim != 2:
        raise ValueError(f"features must be 2-D (N, D), got shape {features.shape}")
    if labels.shape[0] != features.shape[0]:
        raise ValueError(f"labels has {labels.shape[0]} entries for {features.shape[0]} rows of features")
    if features.shape[0] == 0:
        raise ValueError("no samples (N = 0)")
    result = None
    # BEGIN SOLUTION
    n, d = features.shape
    classes, inverse = np.unique(labels, return_inverse=True)
    inverse = inverse.reshape(-1)
    counts = np.bincount(inverse, minlength=len(classes)).astype(np.int64)
    order = np.argsort(inverse, kind="stable")  # rows grouped by class
    bounds = np.concatenate([[0], np.cumsum(counts)])
    chunk = max(1, (1 << 21) // max(d, 1))  # ~16 MB of float64 at a time

    def blocks(c):
        rows = order[bounds[c]:bounds[c + 1]]
        for start in range(0, len(rows), chunk):
            yield features[rows[start:start + chunk]].astype(np.float64)

    means = np.zeros((len(classes), d), dtype=np.float64)
    for c in range(len(classes)):  # pass 1: class means
        for block in blocks(c):
            means[c] += block.sum(axis=0)
        means[c] /= counts[c]
    global_mean = (counts[:, None] * means).sum(axis=0) / n
    intra_sums = np.zeros(len(classes), dtype=np.float64)
    total_sum = 0.0
    for c in range(len(classes)):  # pass 2: squared distances to the class mean and to the global mean
        for block in blocks(c):
            intra_sums[c] += np.square(block - means[c]).sum()
            total_sum += float(np.square(block - global_mean).sum())
    within = float(intra_sums.sum() / n)
    between = float((counts * np.square(means - global_mean).sum(axis=1)).sum() / n)
    if within > 0:
        ratio = between / within
    else:
        ratio = float("inf") if between > 0 else float("nan")
    result = {"classes": classes.astype(np.int64), "counts": counts, "intra": intra_sums / counts,
              "within": within, "between": between, "total": total_sum / n, "ratio": float(ratio)}
    # END SOLUTION
    return result
