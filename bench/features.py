"""Section 3a benchmarks: the reference class_variances on 100k x 512 features (seconds, peak extra memory) and
scikit-learn's t-SNE on a notebook-sized feature matrix (seconds)."""
from __future__ import annotations

import time
import tracemalloc
from typing import List

from bench.report import Row

VARIANCE_SHAPE = (100_000, 512)
VARIANCE_SECONDS = 10.0  # target on 2 cores
VARIANCE_EXTRA_MB = 100.0  # beyond the float32 input (205 MB): no float64 copy of it, no (N, N) matrix
TSNE_SHAPE = (1500, 1280)  # the full-mode notebook's penultimate-layer features of EfficientNet-Lite0
TSNE_SECONDS = 120.0


def bench_features(notes: List[str]) -> List[Row]:
    import numpy as np

    from autograder.grading import reference
    ref = reference.load("cnnfeatures", "features")
    rng = np.random.default_rng(0)
    n, d = VARIANCE_SHAPE
    labels = rng.integers(0, 10, size=n) * 7 - 3  # labels that are not 0..C-1
    x = (rng.standard_normal((n, d), dtype=np.float32) + labels[:, None].astype(np.float32) * 0.01)
    tracemalloc.start()  # numpy reports its array allocations to tracemalloc
    start = time.perf_counter()
    out = ref.class_variances(x, labels)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_mb = peak / 1e6
    identity = abs(out["within"] + out["between"] - out["total"]) <= 1e-9 * out["total"]
    rows = [
        Row("features", f"class_variances on {n} x {d} float32, 10 classes: seconds", f"{seconds:.2f}",
            f"<= {VARIANCE_SECONDS:g} s", seconds <= VARIANCE_SECONDS),
        Row("features", "class_variances: peak memory beyond the input (tracemalloc)",
            f"{peak_mb:.0f} MB (input {x.nbytes / 1e6:.0f} MB)", f"<= {VARIANCE_EXTRA_MB:g} MB",
            peak_mb <= VARIANCE_EXTRA_MB),
        Row("features", "class_variances: within + between = total", f"{out['within'] + out['between']:.6g} vs "
            f"{out['total']:.6g}", "equal to 1e-9", identity),
    ]
    from sklearn.manifold import TSNE
    centers = rng.standard_normal((10, TSNE_SHAPE[1])) * 2
    y = rng.integers(0, 10, size=TSNE_SHAPE[0])
    feats = centers[y] + rng.standard_normal(TSNE_SHAPE)
    start = time.perf_counter()
    TSNE(n_components=2, perplexity=30.0, init="pca", random_state=0).fit_transform(feats)
    seconds = time.perf_counter() - start
    rows.append(Row("features", f"scikit-learn TSNE on {TSNE_SHAPE[0]} x {TSNE_SHAPE[1]} (the notebook's full "
                    "mode): seconds", f"{seconds:.1f}", f"<= {TSNE_SECONDS:g} s", seconds <= TSNE_SECONDS))
    return rows
