"""Single-bug mutants of the Section-3a reference (cnnfeatures/features.py).

Same form as tests/mutants/section1.py: each ``old`` must occur exactly once in the file; ``loses`` must lose points,
every other Section-3a row must keep full marks; ``says`` must appear in the failing feedback (case-insensitive).
Used by tests/test_section3a.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

FILE = "cnnfeatures/features.py"


@dataclass(frozen=True)
class Mutant:
    name: str
    edits: Tuple[Tuple[str, str], ...]
    loses: frozenset
    says: Tuple[str, ...] = ()


def _m(name, edits, loses, says=()):
    return Mutant(name, tuple(edits), frozenset(loses), tuple(says))


# Each recognized-mistake hint -> the one mutant whose feedback may say it (tests/test_section3a.py asserts that no
# other mutant gets it): a hint is said only when the evidence for its cause is there.
HINTS = {
    "weighted by its size n_c": "between_without_class_weights",
    "not the mean of the class means": "global_mean_of_class_means",
    "by its own size n_c, not by the number of rows N": "intra_over_N",
    "sum in float64": "float32_sums",
}

MUTANTS = [
    _m("between_without_class_weights",
       [("between = float((counts * np.square(means - global_mean).sum(axis=1)).sum() / n)",
         "between = float(np.square(means - global_mean).sum(axis=1).mean())")],
       ["class_variances"], says=["'between' wrong", "weighted by its size n_c"]),
    _m("global_mean_of_class_means",
       [("global_mean = (counts[:, None] * means).sum(axis=0) / n", "global_mean = means.mean(axis=0)")],
       ["class_variances"], says=["'between' wrong", "not the mean of the class means"]),
    _m("intra_over_N",
       [('"intra": intra_sums / counts,', '"intra": intra_sums / n,')],
       ["class_variances"], says=["'intra' wrong", "by its own size n_c, not by the number of rows N"]),
    _m("float32_sums",
       [("yield features[rows[start:start + chunk]].astype(np.float64)",
         "yield features[rows[start:start + chunk]].astype(np.float32)"),
        ("    means = np.zeros((len(classes), d), dtype=np.float64)",
         "    means = np.zeros((len(classes), d), dtype=np.float32)")],
       ["class_variances"], says=["sum in float64"]),
    _m("hook_on_the_wrong_layer",
       [("handle = layer.register_forward_hook(hook)", "handle = model.register_forward_hook(hook)")],
       ["extract_features", "extract_features_options"], says=["model.get_submodule(layer_name)"]),
    _m("features_not_flattened",
       [("rows.append(out.reshape(out.shape[0], -1).to(\"cpu\", torch.float32).numpy())",
         "rows.append(out.to(\"cpu\", torch.float32).numpy())")],
       ["extract_features"], says=["flatten each image's output"]),
    _m("no_eval",
       [("        model.eval()\n        with torch.no_grad():", "        with torch.no_grad():")],
       ["extract_features", "extract_features_options"], says=["call model.eval()"]),
    _m("mode_not_restored_hook_kept",
       [("        handle.remove()\n        model.train(was_training)", "        pass")],
       ["extract_features_options"], says=["hook(s) left", "put back the mode"]),
    _m("no_no_grad",
       [("        with torch.no_grad():\n            for images", "        if True:\n            for images")],
       ["extract_features_options"], says=["wrap them in torch.no_grad()"]),
    _m("pool_ignores_channels",
       [("out = out[:, list(channels)]", "out = out")],
       ["extract_features_options"], says=["channels [4, 0, 2]"]),
]
