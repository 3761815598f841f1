"""Graded tests for neuralnet/two_layer_net.py (rubric items 3.1-3.3).

Parameter key names are not prescribed: the grader's weights are loaded into the student's live parameter arrays by
shape (harness ``section1_procedures``), with dimensions chosen so no two parameters share a shape. Scores and
gradients are compared with the reference layers (FC -> ReLU -> FC) evaluated here on the same weights. The
central differences of the student's own forward (computed in the sandbox) only shape the hint: agreement between two
things the student's process reports proves nothing (a forward and a backward that both return zeros agree), so it
earns no points.
"""
from __future__ import annotations

import numpy as np

from autograder.grading import compare
from autograder.grading.compare import compare_array, describe_shape, outcome_problem
from autograder.grading.scoring import Checks, finish
from autograder.grading.checks import GradedTestCase, graded
from autograder.grading.checks import section1_common as common
from autograder.grading.student_code import Call

FILE = "two_layer_net.py"
MODULE = "two_layer_net"
PROCEDURES = common.PROCEDURES
SEED = 2_604_917  # fixed so grading is deterministic; not a seed the kit uses
DIMS = (7, 4, 6)  # (input_dim, num_classes, hidden_dim): shapes (7, 6), (6,), (6, 4), (4,) are all different
BIG_DIMS = (400, 10, 300)  # for the init statistics: 120000 + 3000 weights
BIG_SCALE = 0.05
SMALL_SCALE = 0.01
STD_TOL = 0.1  # the weights' std must be within 10 % of weight_scale
STEP = 1e-5
ROLES = ("W1", "b1", "W2", "b2")  # the roles of the loaded arrays, in the order they are sent
FLOAT32_NOTE = ("Your parameters are not float64 ({dtypes}): build them as float64 (np.random.randn's default) so "
                "the checks can be exact; float32 loses digits the checks compare.")


def _dtype_note(checks: Checks, value) -> None:
    """A hint when the student's parameters are not float64 and something failed."""
    dtypes = value.get("dtypes") if isinstance(value, dict) else None
    if dtypes and any(d != "float64" for d in dtypes) and checks.fraction < 1.0:
        checks.note(FLOAT32_NOTE.format(dtypes=", ".join(sorted({str(d) for d in dtypes}))))


def _init_rows(rows):
    """describe_init's report with the statistics computed HERE (never in the student's process), or None when the
    report does not have its form.

    Each row: {"name", "type"} and, for number arrays, "shape", "dtype", "mean", "std", "max_abs" (float64).
    """
    if not isinstance(rows, list):
        return None
    out = []
    for r in rows:
        if not isinstance(r, dict) or not {"name", "type"} <= set(r):
            return None
        row = {"name": str(r["name"]), "type": str(r["type"])}
        value = r.get("value")
        if value is not None:
            if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiu":
                return None
            v = value.astype(np.float64)
            finite = v[np.isfinite(v)] if v.size else v
            row.update(shape=tuple(int(s) for s in value.shape), dtype=str(value.dtype),
                       mean=float(v.mean()) if v.size else 0.0, std=float(v.std()) if v.size else 0.0,
                       max_abs=float(np.abs(v).max()) if v.size else 0.0,
                       distinct=int(np.unique(finite).size))
        out.append(row)
    return out


def _weights(rng, dims, bias_shift=0.0) -> list:
    d, c, h = dims
    return [0.5 * rng.standard_normal((d, h)), 0.3 * rng.standard_normal(h) + bias_shift,
            0.5 * rng.standard_normal((h, c)), 0.3 * rng.standard_normal(c)]


def _inputs() -> dict:
    rng = np.random.default_rng(SEED)
    d, c, _ = DIMS
    return {
        "forward": [{"weights": _weights(rng, DIMS), "X": rng.standard_normal((5, d))},
                    {"weights": _weights(rng, DIMS, bias_shift=-0.5), "X": rng.standard_normal((1, d))}],
        "backward": {"weights": _weights(rng, DIMS), "X": rng.standard_normal((5, d)),
                     "G": rng.standard_normal((5, c))},
    }


def _calls(inp: dict) -> list:
    calls = [Call("frameworks", MODULE, f"{PROCEDURES}.loaded_frameworks", args=(list(common.RULE.forbidden),)),
             Call("init/small", MODULE, f"{PROCEDURES}.describe_init", args=(DIMS, SMALL_SCALE)),
             Call("init/big", MODULE, f"{PROCEDURES}.describe_init", args=(BIG_DIMS, BIG_SCALE))]
    for i, case in enumerate(inp["forward"]):
        calls.append(Call(f"forward/{i}", MODULE, f"{PROCEDURES}.forward_scores", args=(DIMS, case["weights"],
                                                                                       case["X"])))
    b = inp["backward"]
    calls.append(Call("backward", MODULE, f"{PROCEDURES}.gradients", args=(DIMS, b["weights"], b["X"], b["G"], STEP)))
    return calls


def _expected_shapes(dims) -> dict:
    d, c, h = dims
    return {"W1": (d, h), "b1": (h,), "W2": (h, c), "b2": (c,)}


class TestTwoLayerNet(GradedTestCase):
    """neuralnet/two_layer_net.py: TwoLayerNet's parameters, forward and backward."""


    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        common.layers()  # fail early (grader side) if the reference cannot be loaded
        cls.inp = _inputs()
        cls.out, cls.problem = common.run_batch(cls, FILE, _calls(cls.inp))

    # -- init --------------------------------------------------------------------------------------------------

    def _shape_problem(self, rows, dims) -> str:
        """'' when the parameters are exactly W1, b1, W2, b2 by shape (numpy arrays); else the reason."""
        expected = _expected_shapes(dims)
        not_arrays = [f"{r['name']} ({r['type']})" for r in rows if "shape" not in r]
        if not_arrays:
            return f"parameters() values must be numpy float arrays; not: {', '.join(not_arrays)}"
        got = sorted(tuple(r["shape"]) for r in rows)
        if got != sorted(expected.values()):
            have = ", ".join(f"{r['name']} {tuple(r['shape'])}" for r in rows)
            want = ", ".join(f"{k} {v}" for k, v in expected.items())
            return (f"TwoLayerNet{dims} has parameters {have or 'none'}; expected four with shapes {want} "
                    "(any names)")
        return ""

    @graded("two_layer_init")
    def test_two_layer_init(self, set_score=None):
        common.stop_if_not_numpy_only(self, self.problem, set_score)
        checks = Checks("TwoLayerNet init")
        small, big = self.out["init/small"], self.out["init/big"]
        problem = outcome_problem(small, "TwoLayerNet.__init__") or outcome_problem(big, "TwoLayerNet.__init__")
        small_rows = big_rows = None
        if not problem:
            small_rows, big_rows = _init_rows(small.value), _init_rows(big.value)
            if small_rows is None or big_rows is None:
                problem = ("the checker's report is not in the form it sends (did your code change the checker "
                           "running next to it?)")
        if problem:
            for label in ("shapes", "weight scale", "zero biases"):
                checks.fail(label, 1, problem)
            return finish(self, checks, set_score, "two_layer_init")
        shape_problem = self._shape_problem(small_rows, DIMS) or self._shape_problem(big_rows, BIG_DIMS)
        rows = [r for r in big_rows if "shape" in r]
        weights = [r for r in rows if len(r["shape"]) == 2]
        biases = [r for r in rows if len(r["shape"]) == 1]
        # Arrays of the right shape filled with one value (np.zeros, np.ones) are no initialization: the shapes and
        # the zero biases count only once the weights are drawn at random.
        constant = [f"{r['name']} {tuple(r['shape'])}" for r in weights if r["distinct"] <= 1]
        not_drawn = constant and (f"TwoLayerNet init: every entry of {', '.join(constant)} has the same value; "
                                  f"the weights must be drawn at random (weight_scale * randn), so shapes and "
                                  f"biases earn nothing yet.")
        checks.add("shapes", 1, (shape_problem and f"TwoLayerNet init: {shape_problem}.") or not_drawn)
        scale_problems = []
        for r in weights:
            if (abs(r["std"] - BIG_SCALE) > STD_TOL * BIG_SCALE or abs(r["mean"]) > STD_TOL * BIG_SCALE
                    or r["distinct"] < r["shape"][0]):  # a handful of repeated values is no Gaussian draw
                scale_problems.append(f"{r['name']} {tuple(r['shape'])} has mean {r['mean']:.3g} and std "
                                      f"{r['std']:.3g}")
        if not weights:
            scale_problems.append("no 2-D weight matrices found")
        checks.add("weight scale", 1, scale_problems and (
            f"TwoLayerNet init: with weight_scale = {BIG_SCALE}, {'; '.join(scale_problems)} (expected Gaussian "
            f"weights with mean 0 and std {BIG_SCALE}, i.e. weight_scale * randn)."))
        nonzero = [f"{r['name']} (max |value| {r['max_abs']:.3g})" for r in biases if r["max_abs"] != 0.0]
        if not biases:
            nonzero.append("no 1-D bias vectors found")
        checks.add("zero biases", 1, (nonzero and f"TwoLayerNet init: biases must start at zero: "
                                              f"{', '.join(nonzero)}.") or not_drawn)
        return finish(self, checks, set_score, "two_layer_init")

    # -- forward -----------------------------------------------------------------------------------------------

    @graded("two_layer_forward")
    def test_two_layer_forward(self, set_score=None):
        common.stop_if_not_numpy_only(self, self.problem, set_score)
        checks = Checks("TwoLayerNet.forward")
        for i, case in enumerate(self.inp["forward"]):
            X = case["X"]
            label = f"X {X.shape}"
            outcome = self.out[f"forward/{i}"]
            problem = outcome_problem(outcome, "TwoLayerNet.forward") or compare.report_problem(
                outcome.value, ("names", "scores", "dtypes"), count=len(ROLES))
            if problem:
                checks.fail(label, 1, problem)
                continue
            expected, _ = common.two_layer_scores(X, *case["weights"])
            p = compare_array(expected, outcome.value["scores"])
            checks.add(label, 1, p and f"TwoLayerNet.forward: scores wrong for X {X.shape} with W1 "
                                       f"{case['weights'][0].shape}, W2 {case['weights'][2].shape}: {p} "
                                       "(expected FC -> ReLU -> FC).")
        _dtype_note(checks, self.out["forward/0"].value)
        return finish(self, checks, set_score, "two_layer_forward")

    # -- backward ----------------------------------------------------------------------------------------------

    @graded("two_layer_backward")
    def test_two_layer_backward(self, set_score=None):
        common.stop_if_not_numpy_only(self, self.problem, set_score)
        checks = Checks("TwoLayerNet.backward")
        outcome = self.out["backward"]
        problem = outcome_problem(outcome, "TwoLayerNet.backward") or compare.report_problem(
            outcome.value, ("names", "param_keys", "dtypes", "grad_keys", "grad_type", "analytic", "numeric"),
            count=len(ROLES), per_name=("analytic", "numeric"))
        if problem:
            for role in ROLES:
                checks.fail(role, 1, problem)
            return finish(self, checks, set_score, "two_layer_backward")
        info = outcome.value
        b = self.inp["backward"]
        _, caches = common.two_layer_scores(b["X"], *b["weights"])
        expected = common.two_layer_grads(b["G"], caches)
        if info["grad_keys"] is None:
            checks.note(f"backward returned a {info['grad_type']}; it must return a dict with the keys of "
                        "parameters().")
        elif sorted(info["grad_keys"]) != sorted(info["param_keys"]):
            checks.note(f"backward's dict has keys {info['grad_keys']}; parameters() has {info['param_keys']}: "
                        "they must be the same.")
        all_zero_numeric = all(not np.any(n) for n in info["numeric"])
        for name, got, numeric, exp in zip(info["names"], info["analytic"], info["numeric"], expected):
            what = f"grad of {name} {describe_shape(exp)}"
            if got is None:
                checks.add(name, 1, f"TwoLayerNet.backward: no gradient for {name} (its key in parameters()).")
                continue
            p = compare_array(exp, got, batch=b["X"].shape[0])
            if p:
                own = compare_array(numeric, got, compare.TOL_NUMERIC)
                p += ("; it agrees with central differences of your own forward, so look at forward (3.2)" if own is None
                      else "; it also disagrees with central differences of your own forward, so look at backward "
                           "and the layers' backward functions it calls")
            checks.add(name, 1, p and f"TwoLayerNet.backward: {what} differs from FC -> ReLU -> FC's gradient for X "
                                      f"{b['X'].shape}: {p}.")
        if all_zero_numeric:
            checks.note("Changing the arrays from parameters() did not change forward's scores: parameters() must "
                        "return the live arrays the forward uses.")
        _dtype_note(checks, info)
        return finish(self, checks, set_score, "two_layer_backward")
