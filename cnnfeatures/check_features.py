"""Check features.py's class_variances and extract_features before you hand them in (run from this folder).

    python check_features.py

class_variances is compared with a brute-force computation of the definitions in features.py (explicit loops over
classes, float64) on features with uneven classes, labels that are not 0..C-1, a one-sample class and float32 input
far from 0, and the identity within + between = total is checked. extract_features runs on a small CNN handed over in
training mode (with batch norm and dropout): the features of a named conv layer, flattened, must equal that layer's
output in eval mode; then an FC layer, channel selection and pooling; afterwards the model must be back in training
mode with no hook left, and gradients must have been off (torch.no_grad()) during the forward passes. Prints one
PASS/FAIL line per check ("not implemented" for a function you have not written)
and exits with status 0 only when every check passes. The autograder runs similar checks on inputs of its own.
"""
import os
import sys

# The PASS/FAIL lines read better without extract_features' progress bars between them (tqdm reads TQDM_DISABLE).
os.environ.setdefault("TQDM_DISABLE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import features  # noqa: E402

TOLERANCE = 1e-6  # relative, for the variances (the autograder uses the same)
FEATURE_TOLERANCE = 1e-4  # relative to the largest entry, for float32 features


def brute_force(x, y):
    """The definitions, written out with loops: (classes, counts, intra, within, between, total)."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    m = x.mean(axis=0)
    classes = sorted({int(v) for v in y})
    counts, intra, within, between = [], [], 0.0, 0.0
    for c in classes:
        xc = x[np.asarray(y) == c]
        mc = xc.mean(axis=0)
        s = sum(float(np.dot(row - mc, row - mc)) for row in xc)
        counts.append(len(xc))
        intra.append(s / len(xc))
        within += s / n
        between += len(xc) * float(np.dot(mc - m, mc - m)) / n
    total = sum(float(np.dot(row - m, row - m)) for row in x) / n
    return classes, counts, np.array(intra), within, between, total


class Report:
    def __init__(self):
        self.ok = True

    def line(self, passed, text):
        self.ok &= bool(passed)
        print(f"{'PASS' if passed else 'FAIL'} {text}")


def close(a, b, tol):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= tol * np.maximum(np.abs(a) + np.abs(b), 1e-12)))


def check_variances(report):
    rng = np.random.default_rng(3)
    labels = rng.choice(np.array([-4, 3, 11, 250]), size=200, p=[0.55, 0.25, 0.15, 0.05])
    x = rng.standard_normal((200, 6)) + 2.0 * (labels[:, None] == 3)
    cases = [("uneven classes, labels -4, 3, 11, 250", x, labels)]
    y = np.concatenate([rng.choice(np.array([2, 9]), size=59), [77]])
    cases.append(("float32 around 500, a one-sample class", (500 + rng.standard_normal((60, 4))).astype(np.float32), y))
    for what, x, y in cases:
        try:
            out = features.class_variances(x, y)
        except NotImplementedError:
            print("class_variances: not implemented")
            report.ok = False
            return
        except Exception as exc:  # noqa: BLE001 -- show any error as a failed check
            report.line(False, f"class_variances ({what}): raised {type(exc).__name__}: {exc}")
            continue
        classes, counts, intra, within, between, total = brute_force(x, y)
        if not isinstance(out, dict):
            report.line(False, f"class_variances ({what}): returned a {type(out).__name__}, expected a dict")
            continue
        missing = [k for k in ("classes", "counts", "intra", "within", "between", "total", "ratio") if k not in out]
        if missing:
            report.line(False, f"class_variances ({what}): no {', '.join(missing)} in the dict")
            continue
        got_classes = np.asarray(out["classes"]).tolist()
        got_counts = np.asarray(out["counts"]).tolist()
        report.line(got_classes == classes and got_counts == counts,
                    f"class_variances ({what}): classes {got_classes}, counts {got_counts} (expected {classes}, "
                    f"{counts})")
        report.line(close(out["intra"], intra, TOLERANCE), f"class_variances ({what}): intra {np.asarray(out['intra'])}"
                    f" (expected {intra})")
        for key, expected in (("within", within), ("between", between), ("total", total),
                              ("ratio", between / within)):
            report.line(close(out[key], expected, TOLERANCE),
                        f"class_variances ({what}): {key} {float(out[key]):.10g} (expected {expected:.10g})")
        report.line(close(float(out["within"]) + float(out["between"]), float(out["total"]), 1e-9),
                    f"class_variances ({what}): within + between = total")


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU())
        self.block = nn.Sequential(nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.drop = nn.Dropout(0.5)
        self.head = nn.Sequential(nn.Linear(8 * 4 * 4, 12), nn.ReLU(), nn.Linear(12, 4))

    def forward(self, x):
        return self.head(self.drop(torch.flatten(self.block(self.stem(x)), 1)))


def check_extractor(report):
    torch.manual_seed(0)
    model = SmallCNN()
    model.stem[1].running_mean.uniform_(-1, 1)
    model.stem[1].running_var.uniform_(0.5, 2)
    images = torch.randn(14, 3, 8, 8)
    labels = torch.tensor([2, 7, 9, 40] * 3 + [2, 7])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, labels), batch_size=4)
    with torch.no_grad():
        model.eval()
        stem = model.stem(images)
        conv = model.block[0](stem)
        fc = model.head[1](model.head[0](torch.flatten(model.block(stem), 1)))
    cases = [("conv layer block.0, flattened", "block.0", {}, conv.flatten(1)),
             ("FC layer head.1 (after dropout)", "head.1", {}, fc),
             ("stem.2 channels [4, 0, 2], pool='avg'", "stem.2", {"channels": [4, 0, 2], "pool": "avg"},
              stem[:, [4, 0, 2]].mean(dim=(2, 3))),
             ("block.0 pool='max'", "block.0", {"pool": "max"}, conv.amax(dim=(2, 3)))]
    grad_during = []
    # Gradients must be off while extracting (torch.no_grad()): the autograder checks the same.
    model.register_forward_pre_hook(lambda module, inputs: grad_during.append(torch.is_grad_enabled()))
    for what, layer, kwargs, expected in cases:
        model.train()
        grad_during.clear()
        try:
            result = features.extract_features(model, layer, loader, **kwargs)
        except NotImplementedError:
            print("extract_features: not implemented")
            report.ok = False
            return
        except Exception as exc:  # noqa: BLE001
            report.line(False, f"extract_features ({what}): raised {type(exc).__name__}: {exc}")
            continue
        if not (isinstance(result, tuple) and len(result) == 2):
            report.line(False, f"extract_features ({what}): expected a pair (features, labels)")
            continue
        feats, labs = result
        expected = expected.numpy()
        if not isinstance(feats, np.ndarray):
            report.line(False, f"extract_features ({what}): features is a {type(feats).__name__}, not a numpy array")
            continue
        scale = float(np.abs(expected).max())
        ok = feats.shape == expected.shape and bool(np.all(np.abs(feats - expected) <= FEATURE_TOLERANCE * scale))
        report.line(ok, f"extract_features ({what}): features {feats.shape} {feats.dtype} (expected "
                        f"{expected.shape} float32{'' if ok or feats.shape != expected.shape else ', values differ: eval()?'})")
        report.line(feats.dtype == np.float32 and isinstance(labs, np.ndarray) and labs.dtype == np.int64
                    and labs.tolist() == labels.tolist(), f"extract_features ({what}): float32 features, int64 labels "
                    "in loader order")
        hooks = sum(len(m._forward_hooks) for m in model.modules())
        report.line(model.training and hooks == 0, f"extract_features ({what}): model back in training mode "
                    f"({model.training}), hooks left: {hooks}")
        report.line(bool(grad_during) and not any(grad_during),
                    f"extract_features ({what}): gradients off during the {len(grad_during)} forward passes"
                    + (f" (on in {sum(grad_during)}: wrap them in torch.no_grad())" if any(grad_during) else ""))


def main():
    report = Report()
    check_variances(report)
    check_extractor(report)
    print("all checks passed" if report.ok else "some checks failed")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
