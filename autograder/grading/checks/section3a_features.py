"""Graded tests for cnnfeatures/features.py (rubric items 6.1-6.3): Section 3a's class variances and extractor.

All student calls of the module run in ONE sandbox process (torch is imported once there), on the grader's own
seeded inputs:

* class_variances on random features with uneven classes, labels that are not 0..C-1, a one-sample class and float32
  input far from 0 (float64 accumulation matters there);
* extract_features on a small CNN (harness ``section3a_procedures.build_probe_cnn``) whose weights the grader makes
  from its seed and sends as arrays, at layer names the grader picks; the model is handed over in training mode and
  has a batch norm and a dropout, so features taken outside ``eval()`` are wrong.

The expected values are computed by the grader with the reference (``cnnfeatures/features.py``) on the same inputs and
the same network, in a separate trusted process (``section3a_reference.run``, after the sandbox run, so that torch is
never loaded twice at once within Gradescope's 768 MB); the sandbox only returns the student's arrays (no number it
computed is trusted as a score). Expected features are float32: they are compared with a relative tolerance of FEATURE_TOL (threads and
kernels may differ between the two processes); the variances (float64) with VARIANCE_TOL.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from autograder.grading import section3a_reference
from autograder.grading.compare import (_as_number_array, compare_array, compare_scalar, outcome_problem,
                                       relative_error)
from autograder.grading.scoring import Checks, finish
from autograder.grading.checks import GradedTestCase, graded
from autograder.grading.harness import section3a_procedures as procedures
from autograder.grading.student_code import Call

MODULE = "features"
PROCEDURES = "section3a_procedures"
SEED = 6_021_337  # fixed so grading is deterministic; not a seed the kit uses
FEATURE_TOL = 1e-3
VARIANCE_TOL = 1e-6
SCALARS = ("within", "between", "total", "ratio")
# The layers the extractor is asked for: (call id, layer name, batch size, channels, pool, what it shows)
EXTRACTIONS = (
    ("conv", "block.0", 5, None, None, "a conv layer's (N, 8, 8, 8) output flattened"),
    ("fc", "head.1", 8, None, None, "an FC layer's (N, 12) output (after dropout: eval mode matters)"),
    ("channels_avg", "stem.2", 6, [4, 0, 2], "avg", "channels [4, 0, 2] of stem.2 with pool='avg'"),
    ("max", "block.2", 7, None, "max", "block.2 with pool='max'"),
)


def _variance_cases(rng) -> list:
    cases = []
    labels = rng.choice(np.array([-4, 3, 11, 250]), size=240, p=[0.55, 0.25, 0.15, 0.05]).astype(np.int64)
    centers = {c: 1.5 * rng.standard_normal(9) for c in (-4, 3, 11, 250)}
    x = rng.standard_normal((240, 9)) * rng.uniform(0.5, 2.0, size=9) + np.stack([centers[int(c)] for c in labels])
    cases.append({"features": x, "labels": labels, "what": "float64 (240, 9), labels -4, 3, 11, 250, uneven"})
    labels = np.concatenate([rng.choice(np.array([2, 9, 30]), size=119, p=[0.6, 0.3, 0.1]), [77]]).astype(np.int64)
    order = rng.permutation(len(labels))
    labels = labels[order]
    x = (500.0 + rng.standard_normal((120, 5)) + 0.5 * labels[:, None] / 30.0).astype(np.float32)
    cases.append({"features": x, "labels": labels, "what": "float32 (120, 5) around 500, class 77 has one sample"})
    return cases


def _number(value) -> Optional[float]:
    """A returned single real number as a float (a Python or numpy scalar, a 0-d or 1-element array); else None."""
    arr, problem = _as_number_array(value)
    if problem or arr.size != 1 or arr.dtype.kind not in "iuf":
        return None
    return float(arr.reshape(-1)[0])


def _between_variants(features: np.ndarray, labels: np.ndarray) -> dict:
    """The between-class variance by two recognizable wrong formulas (the evidence for their hints): the classes'
    squared distances averaged without the weights n_c, and the distances taken to the mean of the class means."""
    x = np.asarray(features, dtype=np.float64)
    classes, inverse = np.unique(labels, return_inverse=True)
    counts = np.bincount(inverse.reshape(-1), minlength=len(classes)).astype(np.float64)
    means = np.stack([x[inverse.reshape(-1) == c].mean(axis=0) for c in range(len(classes))])
    m = x.mean(axis=0)
    plain = np.square(means - means.mean(axis=0)).sum(axis=1)
    return {"between unweighted": float(np.square(means - m).sum(axis=1).mean()),
            "mean of class means": float((counts * plain).sum() / counts.sum())}


def _probe_weights(rng) -> dict:
    """The probe CNN's state dict as arrays, from the grader's seed (batch-norm statistics far from 0 / 1)."""
    weights = {}
    for name, shape in procedures.PROBE_STATE_SHAPES.items():
        if name.endswith("num_batches_tracked"):
            weights[name] = np.array(0, dtype=np.int64)
        elif name.endswith("running_var"):
            weights[name] = rng.uniform(0.3, 3.0, size=shape).astype(np.float32)
        elif name.endswith("running_mean"):
            weights[name] = rng.normal(0.0, 0.7, size=shape).astype(np.float32)
        else:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 4
            weights[name] = (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)
    return weights


def _inputs() -> dict:
    rng = np.random.default_rng(SEED)
    return {"variances": _variance_cases(rng), "weights": _probe_weights(rng),
            "images": rng.standard_normal((22,) + procedures.PROBE_INPUT).astype(np.float32),
            "labels": rng.choice(np.array([2, 7, 9, 40]), size=22).astype(np.int64)}


def _calls(inp: dict) -> list:
    calls = [Call(f"variances/{i}", MODULE, f"{PROCEDURES}.variances", args=(c["features"], c["labels"]))
             for i, c in enumerate(inp["variances"])]
    for key, layer, batch, channels, pool, _ in EXTRACTIONS:
        calls.append(Call(f"extract/{key}", MODULE, f"{PROCEDURES}.extract",
                          args=(inp["weights"], inp["images"], inp["labels"], layer, batch, channels, pool)))
    return calls


def _returned_type(value) -> str:
    return value.strip("<>") if isinstance(value, str) else type(value).__name__


class TestFeatures(GradedTestCase):
    """cnnfeatures/features.py: class_variances and extract_features against the reference."""


    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.inp = _inputs()
        cls.out = cls.run_student(_calls(cls.inp), limits="torch")
        # The reference results, from the grader's own process (after the sandbox run: never both torch at once).
        cls.expected = section3a_reference.run(cls.inp, EXTRACTIONS)

    def _expected_for(self, key):
        return self.expected[f"extract/{key}/features"], self.expected[f"extract/{key}/labels"]

    def _expected_variances(self, i) -> dict:
        prefix = f"variances/{i}/"
        return {name[len(prefix):]: value for name, value in self.expected.items() if name.startswith(prefix)}

    # -- class_variances -----------------------------------------------------------------------------------------

    @graded("class_variances")
    def test_class_variances(self, set_score=None):
        checks = Checks("class_variances")
        problems = {name: [] for name in ("classes and counts", "intra", "within", "between", "total", "ratio")}
        # what a hint needs to be said: intra divided by N instead of n_c; values off only a little, on float32 only
        evidence = {"intra over N": False, "between unweighted": False, "mean of class means": False,
                    "precision": set()}
        for i, case in enumerate(self.inp["variances"]):
            where = f"for features {case['what']}"
            outcome = self.out[f"variances/{i}"]
            problem = outcome_problem(outcome, "class_variances")
            value = outcome.value if not problem else None
            if not problem and not isinstance(value, dict):
                problem = "the checker's report is not in the form it sends"
            elif not problem and value.get("type") != "dict":
                problem = f"returned a {value.get('type')} instead of a dict"
            if problem:
                for found in problems.values():
                    found.append(f"class_variances: {problem}.")
                continue
            expected = self._expected_variances(i)
            for key in ("classes", "counts"):
                got = value.get(key)
                if key in value.get("missing", []):
                    problems["classes and counts"].append(f"class_variances: no '{key}' in the returned dict.")
                elif not (isinstance(got, np.ndarray) and got.shape == expected[key].shape and
                          np.array_equal(got, expected[key])):
                    shown = got.tolist() if isinstance(got, np.ndarray) and got.size <= 10 else _returned_type(got)
                    problems["classes and counts"].append(
                        f"class_variances: '{key}' is {shown} {where}, expected {expected[key].tolist()} (the "
                        f"distinct labels, sorted, and how many rows each has).")
            counts = expected["counts"].astype(np.float64)
            got_intra = value.get("intra")
            if (isinstance(got_intra, np.ndarray) and got_intra.shape == expected["intra"].shape
                    and relative_error(expected["intra"], got_intra) > VARIANCE_TOL
                    and relative_error(expected["intra"] * counts / counts.sum(), got_intra) <= VARIANCE_TOL):
                evidence["intra over N"] = True
            got_between = _number(value.get("between"))
            if got_between is not None:
                for cause, wrong_between in _between_variants(case["features"], case["labels"]).items():
                    if abs(wrong_between - got_between) <= VARIANCE_TOL * abs(wrong_between) and \
                            abs(float(expected["between"]) - got_between) > VARIANCE_TOL * abs(wrong_between):
                        evidence[cause] = True
            for key in ("intra", "within", "between", "total"):
                got = value.get(key) if key == "intra" else _number(value.get(key))
                if got is not None and not isinstance(got, str) and np.shape(got) == np.shape(expected[key]) and \
                        np.asarray(got).dtype.kind in "iuf":
                    err = relative_error(np.atleast_1d(expected[key]), np.atleast_1d(np.asarray(got, np.float64)))
                    if VARIANCE_TOL < err <= 1e-2:  # close but not exact: digits lost, not a wrong formula
                        evidence["precision"].add(case["features"].dtype.name)
            for key in ("intra",) + SCALARS:
                if key in value.get("missing", []):
                    problems[key].append(f"class_variances: no '{key}' in the returned dict.")
                    continue
                got = value.get(key)
                if isinstance(got, str):
                    p = f"a {_returned_type(got)}, not numbers"
                elif key == "intra":
                    p = compare_array(expected[key], got, tol=VARIANCE_TOL)
                else:
                    p = compare_scalar(float(expected[key]), got, tol=VARIANCE_TOL)
                if p:
                    problems[key].append(f"class_variances: '{key}' wrong {where}: {p}.")
        weights = {"classes and counts": 1, "intra": 1.5, "within": 1, "between": 1.5, "total": 0.5, "ratio": 0.5}
        for name, found in problems.items():
            checks.add(name, weights[name], found[0] if found else None)
        wrong = {name for name, found in problems.items() if found}
        if evidence["between unweighted"]:
            checks.note("'between' is the plain average of ||m_c - m||^2 over the classes: between = (1/N) sum_c n_c "
                        "||m_c - m||^2, each class's squared distance weighted by its size n_c.")
        if evidence["mean of class means"]:
            checks.note("'between' measures the distances to the mean of the class means: m is the mean of all N "
                        "rows, not the mean of the class means.")
        if "within" in wrong and "intra" not in wrong:
            checks.note("within = (1/N) sum_c n_c * intra_c: a size-weighted average of the intra-class variances.")
        if evidence["intra over N"]:
            checks.note("intra[c] is the expected value times n_c / N: divide each class's sum of squared distances "
                        "by its own size n_c, not by the number of rows N.")
        elif evidence["precision"] == {"float32"}:
            checks.note("Only the float32 features far from 0 are off, and only slightly: sum in float64 "
                        "(features.astype(np.float64), in chunks for large N); float32 sums lose digits there.")
        finish(self, checks, set_score, "class_variances")

    # -- extract_features ----------------------------------------------------------------------------------------

    def _extraction_problem(self, key, what) -> str:
        """'' when the student's features and labels for EXTRACTIONS[key] match the reference; else the line."""
        outcome = self.out[f"extract/{key}"]
        problem = outcome_problem(outcome, "extract_features")
        if problem:
            return f"extract_features: {problem}."
        value = outcome.value
        if not isinstance(value, dict) or "features" not in value:
            return "extract_features: the checker's report is not in the form it sends."
        if value.get("returned"):
            return f"extract_features: returned {value['returned']} instead of a pair (features, labels)."
        exp_features, exp_labels = self._expected_for(key)
        got = value["features"]
        if isinstance(got, str):
            return f"extract_features ({what}): features is a {_returned_type(got)}, expected a numpy array."
        p = compare_array(exp_features, got, tol=FEATURE_TOL)
        if p:
            hint = ""
            if got.ndim != 2 and got.shape[0] == exp_features.shape[0]:
                hint = " (flatten each image's output to one row: (N, D))"
            elif got.ndim == 2 and got.shape[0] == exp_features.shape[0] and got.shape[1] != exp_features.shape[1]:
                hint = " (is the hook on the layer named by layer_name, model.get_submodule(layer_name)?)"
            return f"extract_features ({what}): features wrong for 22 images (3, 8, 8): {p}{hint}."
        labels = value["labels"]
        if isinstance(labels, str) or not np.array_equal(np.asarray(labels).reshape(-1), exp_labels):
            shown = _returned_type(labels) if isinstance(labels, str) else f"shape {np.shape(labels)}"
            return (f"extract_features ({what}): labels ({shown}) are not the loader's labels in loader order "
                    f"(int64 (22,)).")
        return ""

    @graded("extract_features")
    def test_extract_features(self, set_score=None):
        checks = Checks("extract_features")
        for key, _, _, channels, pool, what in EXTRACTIONS:
            if channels is None and pool is None:
                checks.add(what, 1, self._extraction_problem(key, what))
        conv = self.out["extract/conv"]
        wrong = self._extraction_problem("conv", EXTRACTIONS[0][5])
        if wrong:  # the dtype of wrong features earns nothing (a function that returns one float32 zero is not it)
            checks.add("float32 features", 0.5, "extract_features: float32 counts only for the right features (see "
                                                "above).")
        else:
            dtype = conv.value["features"].dtype
            checks.add("float32 features", 0.5, None if dtype == np.float32 else
                       f"extract_features: features have dtype {dtype}, expected float32.")
        failed = [item.problem for item in checks.items if item.problem]
        if failed and any("max relative error" in p for p in failed):
            checks.note("The model comes in training mode with dropout and batch norm: call model.eval() before the "
                        "forward passes (and put the mode back afterwards).")
        finish(self, checks, set_score, "extract_features")

    @graded("extract_features_options")
    def test_extract_features_options(self, set_score=None):
        checks = Checks("extract_features")
        for key, _, _, channels, pool, what in EXTRACTIONS:
            if channels is not None or pool is not None:
                checks.add(what, 1, self._extraction_problem(key, what))
        outcome = self.out["extract/fc"]
        problem = outcome_problem(outcome, "extract_features")
        value = outcome.value if not problem else None
        if not problem and not (isinstance(value, dict) and isinstance(value.get("training_during"), list)):
            problem = "the checker's report is not in the form it sends"
        if problem:
            for label in ("training mode restored after", "no_grad", "hook removed"):
                checks.fail(label, 1 if label != "no_grad" else 0.5, problem)
        else:
            during, grad = value["training_during"], value.get("grad_during", [])
            after, expected_after = value.get("after"), self.expected.get("after")
            # Recomputed, not reported: the model's output after the call is that of the training mode it came in.
            restored = (isinstance(after, np.ndarray) and expected_after is not None
                        and after.shape == expected_after.shape and np.allclose(after, expected_after, atol=1e-5))
            # A function that does nothing keeps the mode, adds no hook and computes no gradient: these count only
            # when the extraction itself is right (6.2).
            extracted = not self._extraction_problem("fc", "the fc layer")
            checks.add("training mode restored after", 1, None if restored and extracted else
                       "extract_features: the training mode kept counts only when it extracted the layer's features "
                       "(see 6.2)." if restored else
                       "extract_features: the model was handed over in training mode and is no longer in it after "
                       "the call (its output with dropout differs): put back the mode it had "
                       "(was_training = model.training ... model.train(was_training)).")
            checks.add("no_grad", 0.5, None if during and not any(grad) and extracted else
                       "extract_features: no_grad counts only when it extracted the layer's features (see 6.2)."
                       if during and not any(grad) else
                       "extract_features: gradients were enabled during the forward passes: wrap them in "
                       "torch.no_grad().")
            left = value.get("hooks_left")
            checks.add("hook removed", 1, None if left == 0 and extracted else
                       "extract_features: a hook removed counts only when it extracted the layer's features (see "
                       "6.2)." if left == 0 else
                       f"extract_features: {left} hook(s) left on the model after the call: remove the forward "
                       f"hook (handle.remove(), in a finally block).")
        finish(self, checks, set_score, "extract_features_options")
