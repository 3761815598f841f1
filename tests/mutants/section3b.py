"""Single-bug mutants of the Section-3b reference (smalldata/models.py, smalldata/helpers.py).

Like tests/mutants/section1.py: each mutant is exact text substitutions in one reference file (each ``old`` occurs
exactly once); ``loses`` are the rubric ids that must lose points, every other Section-3b row keeps full marks;
``says`` is text the failing feedback must contain (case-insensitive). Used by tests/test_section3b.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str  # path in the kit, e.g. "smalldata/models.py"
    edits: Tuple[Tuple[str, str], ...]
    loses: frozenset
    says: Tuple[str, ...] = ()


def _m(name, file, edits, loses, says=()):
    return Mutant(name, file, tuple(edits), frozenset(loses), tuple(says))


MUTANTS = (
    _m("gray pooling does not halve", "smalldata/models.py", [
        ("            nn.MaxPool2d(kernel_size=2, stride=2),\n        )\n"
         "        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(channels * 14 * 14, num_classes))",
         "            nn.MaxPool2d(kernel_size=2, stride=1),\n        )\n"
         "        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(channels * 27 * 27, num_classes))")],
       {"smalldata_gray1conv"}, says=("halve the 28 x 28 image",)),
    _m("activation ignored", "smalldata/models.py", [("            activation(),\n", "            nn.ReLU(),\n")],
       {"smalldata_activation"}, says=("gives the same output as with nn.ReLU",)),
    _m("cifar pooling does not halve", "smalldata/models.py", [
        ("            nn.MaxPool2d(kernel_size=2, stride=2),\n        )\n"
         "        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(channels * 16 * 16, num_classes))",
         "            nn.MaxPool2d(kernel_size=3, stride=3),\n        )\n"
         "        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(channels * 10 * 10, num_classes))")],
       {"smalldata_cifar_one_conv"}, says=("halve the 32 x 32 image",)),
    _m("class_subset not per class", "smalldata/helpers.py", [
        ("        pool = np.flatnonzero(targets == int(cls))",
         "        pool = np.flatnonzero(np.isin(targets, [int(c) for c in classes]))")],
       {"smalldata_class_subset"}, says=("of each class (sample each class separately)",)),
    _m("class_subset with replacement", "smalldata/helpers.py", [
        ("rng.choice(pool, size=per_class, replace=False)", "rng.choice(pool, size=per_class, replace=True)")],
       {"smalldata_class_subset"}, says=("draw without replacement",)),
    _m("class_subset unseeded", "smalldata/helpers.py", [
        ("rng = np.random.default_rng(seed)", "rng = np.random.default_rng()")],
       {"smalldata_class_subset"}, says=("it gave different indices", "np.random.default_rng(seed)")),
    _m("class_subset ignores list targets", "smalldata/helpers.py", [
        ("targets = np.asarray(dataset_targets", "targets = np.asarray(dataset_targets[::-1]"
         " if isinstance(dataset_targets, list) else dataset_targets")],
       {"smalldata_class_subset"}, says=("targets given as a list do not give the same indices",)),
    _m("no zero_grad", "smalldata/helpers.py", [("            optimizer.zero_grad()\n", "")],
       {"smalldata_train_epochs"}, says=("trained weights differ",)),
    _m("accuracy in percent", "smalldata/helpers.py", [
        ("    return float((true == pred).mean()) if true.size else 0.0",
         "    return 100.0 * float((true == pred).mean()) if true.size else 0.0")],
       {"smalldata_metrics"}, says=("percentage",)),
    _m("confusion transposed", "smalldata/helpers.py", [
        ("        np.add.at(counts, (true, pred), 1)", "        np.add.at(counts, (pred, true), 1)"),
        ("    return confusion_matrix(true, pred, labels=", "    return confusion_matrix(pred, true, labels=")],
       {"smalldata_metrics"}, says=("transpose", "the true class indexes the row")),
)

# Each recognized-mistake hint -> the one mutant whose feedback may say it (tests/test_section3b.py asserts that no
# other mutant gets it).
HINTS = {
    "it gave different indices": "class_subset unseeded",
    "targets given as a list": "class_subset ignores list targets",
    "the true class indexes the row": "confusion transposed",
    "matrix product": "",  # the layers' hint: no Section-3b mutant may get it
    "sample each class separately": "class_subset not per class",
    "draw without replacement": "class_subset with replacement",
}
