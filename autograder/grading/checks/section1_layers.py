"""Graded tests for neuralnet/layers.py (rubric items 2.1-2.7).

Every student result is compared with the reference (neuralnet/layers.py, loaded in this process) on fresh
inputs from a fixed seed. Backward functions are fed the REFERENCE cache, so a correct backward is not penalized for
a wrong forward; the student's own forward -> backward pair is checked as a separate sub-check (skipped when the
forward itself does not run). All of a class's student calls run in one sandbox process.
"""
from __future__ import annotations

import numpy as np

from autograder.grading import compare, rubric
from autograder.grading.compare import compare_array, compare_scalar, inputs_text, outcome_problem, unpack
from autograder.grading.scoring import Checks, finish
from autograder.grading.checks import GradedTestCase, graded
from autograder.grading.checks import section1_common as common
from autograder.grading.student_code import Call

FILE = "layers.py"
MODULE = "layers"
PROCEDURES = common.PROCEDURES
SEED = 7_310_442  # fixed so grading is deterministic; not a seed the kit uses
FC_GRADS = ("grad_x", "grad_w", "grad_b")
ROW_OFFSETS = np.array([-4000.0, 1500.0, 0.0, 6500.0, -9000.0])  # the large-score rows' levels (see _inputs)


def _inputs() -> dict:
    """All inputs of this module's checks, from one seeded generator (float64 unless noted)."""
    rng = np.random.default_rng(SEED)

    def fc_case(n, d_in, d_out):
        return {"x": rng.standard_normal((n, d_in)), "w": rng.standard_normal((d_in, d_out)),
                "b": rng.standard_normal(d_out), "dout": rng.standard_normal((n, d_out))}

    def away_from_zero(shape):
        # ReLU's derivative at exactly 0 is a convention; keep inputs clear of it
        x = rng.standard_normal(shape)
        return x + np.where(x >= 0, 0.05, -0.05)

    def mixed_signs(n):
        # one row with positive and negative entries: all-zeros is never the right ReLU answer
        x = np.abs(away_from_zero((1, n)))
        return x * rng.permutation(np.resize([1.0, -1.0], n))

    return {
        "fc": [fc_case(4, 5, 3), fc_case(6, 2, 7)],
        "relu": [{"x": away_from_zero(s), "dout": rng.standard_normal(s)} for s in [(4, 5), (2, 3, 4)]],
        "softmax": {"x": 3.0 * rng.standard_normal((6, 5)), "y": rng.integers(0, 5, size=6).astype(np.int64)},
        "softmax_large": [
            {"x": np.array([[1e3, 0, -1e3], [-1e3, 1e3, 0], [0, -1e3, 1e3]]), "y": np.array([0, 1, 2])},
            # Rows whose maxima differ by thousands: subtracting the global maximum (not each row's) leaves rows
            # where every exp underflows to 0, so only the per-row shift passes.
            {"x": ROW_OFFSETS[:, None] + 3.0 * rng.standard_normal((len(ROW_OFFSETS), 6)),
             "y": rng.integers(0, 6, size=len(ROW_OFFSETS)).astype(np.int64)},
            # Scores spanning more than 12000 within a row, the label never the row's maximum: exp overflows even
            # in np.longdouble (above ~11356) without the shift, and shifting by the row mean then clipping to
            # +-700 flattens the top two scores, so only subtracting each row's maximum passes.
            # The labels stay within 400 of the maximum, so log(probability) after the shift is finite too.
            {"x": np.array([[12000.0, 11995.0, -300.0, 0.0, 5.0], [-6100.0, 5600.0, 5604.0, 6000.0, -1.0],
                            [-11000.0, 1500.0, 1497.0, -9.0, 1100.0]]) + 0.5 * rng.standard_normal((3, 5)),
             "y": np.array([1, 2, 4], dtype=np.int64)},
        ],
        "l2": {"w": rng.standard_normal((5, 3)), "reg": 0.37},
        "edge": {"fc_n1": fc_case(1, 4, 3), "fc_unit": fc_case(5, 4, 1),
                 "relu_n1": {"x": mixed_signs(6), "dout": rng.standard_normal((1, 6))},
                 "softmax_n1": {"x": rng.standard_normal((1, 4)), "y": np.array([2], dtype=np.int64)}},
    }


def _calls(inp: dict, ref) -> list:
    calls = [Call("frameworks", MODULE, f"{PROCEDURES}.loaded_frameworks",
                  args=(list(common.RULE.forbidden),))]
    for i, c in enumerate(inp["fc"]):
        calls.append(Call(f"fc_forward/{i}", MODULE, func="fc_forward", args=(c["x"], c["w"], c["b"])))
        cache = ref.fc_forward(c["x"], c["w"], c["b"])[1]
        calls.append(Call(f"fc_backward/{i}", MODULE, func="fc_backward", args=(c["dout"], cache)))
        calls.append(Call(f"fc_pair/{i}", MODULE, f"{PROCEDURES}.forward_then_backward",
                          args=("fc_forward", "fc_backward", (c["x"], c["w"], c["b"]), c["dout"])))
    for i, c in enumerate(inp["relu"]):
        calls.append(Call(f"relu_forward/{i}", MODULE, func="relu_forward", args=(c["x"],)))
        calls.append(Call(f"relu_backward/{i}", MODULE, func="relu_backward",
                          args=(c["dout"], ref.relu_forward(c["x"])[1])))
        calls.append(Call(f"relu_pair/{i}", MODULE, f"{PROCEDURES}.forward_then_backward",
                          args=("relu_forward", "relu_backward", (c["x"],), c["dout"])))
    s = inp["softmax"]
    calls.append(Call("softmax/0", MODULE, func="softmax_loss", args=(s["x"], s["y"])))
    for i, c in enumerate(inp["softmax_large"]):
        calls.append(Call(f"softmax_large/{i}", MODULE, func="softmax_loss", args=(c["x"], c["y"])))
    calls.append(Call("l2/0", MODULE, func="l2_regularization", args=(inp["l2"]["w"], inp["l2"]["reg"])))
    e = inp["edge"]
    for key in ("fc_n1", "fc_unit"):
        c = e[key]
        calls.append(Call(f"edge/{key}/forward", MODULE, func="fc_forward", args=(c["x"], c["w"], c["b"])))
        calls.append(Call(f"edge/{key}/backward", MODULE, func="fc_backward",
                          args=(c["dout"], ref.fc_forward(c["x"], c["w"], c["b"])[1])))
    c = e["relu_n1"]
    calls.append(Call("edge/relu_n1/forward", MODULE, func="relu_forward", args=(c["x"],)))
    calls.append(Call("edge/relu_n1/backward", MODULE, func="relu_backward",
                      args=(c["dout"], ref.relu_forward(c["x"])[1])))
    c = e["softmax_n1"]
    calls.append(Call("edge/softmax_n1", MODULE, func="softmax_loss", args=(c["x"], c["y"])))
    return calls


class TestLayers(GradedTestCase):
    """neuralnet/layers.py: each layer's forward and backward against the reference."""


    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ref = common.layers()
        cls.inp = _inputs()
        cls.out, cls.problem = common.run_batch(cls, FILE, _calls(cls.inp, cls.ref))

    def _numpy_only(self, set_score):
        common.stop_if_not_numpy_only(self, self.problem, set_score)

    # -- helpers -----------------------------------------------------------------------------------------------

    def _pair(self, call_id: str, subject: str, names):
        """(items, problem) for a call that must return a tuple ``names``."""
        outcome = self.out[call_id]
        problem = outcome_problem(outcome, subject)
        if problem:
            return None, problem
        return unpack(outcome.value, names)

    def _check_fc_forward(self, checks, c, call_id, label, weight):
        desc = inputs_text(x=c["x"], w=c["w"], b=c["b"])
        items, problem = self._pair(call_id, "fc_forward", ("out", "cache"))
        if problem:
            checks.add(label, weight, f"fc_forward: {problem}.")
            return
        expected = self.ref.fc_forward(c["x"], c["w"], c["b"])[0]
        problem = compare_array(expected, items[0])
        checks.add(label, weight, problem and f"fc_forward: out wrong for {desc}: {problem}.")

    def _fc_backward_problems(self, c, value_or_outcome, desc) -> dict:
        """name -> problem (None = right) for grad_x, grad_w, grad_b; one shared problem when the call failed."""
        outcome = value_or_outcome
        problem = outcome_problem(outcome, "fc_backward")
        if not problem:
            items, problem = unpack(outcome.value, FC_GRADS)
        if problem:
            return {name: f"fc_backward: {problem}." for name in FC_GRADS}
        ref = self.ref
        _, cache = ref.fc_forward(c["x"], c["w"], c["b"])
        expected = ref.fc_backward(c["dout"], cache)
        result = {}
        for name, exp, got in zip(FC_GRADS, expected, items):
            p = compare_array(exp, got, batch=c["x"].shape[0])
            result[name] = p and f"fc_backward: {name} wrong for {desc}: {p}."
        return result

    # -- tests -------------------------------------------------------------------------------------------------

    @graded("fc_forward")
    def test_fc_forward(self, set_score=None):
        self._numpy_only(set_score)
        checks = Checks("fc_forward")
        for i, c in enumerate(self.inp["fc"]):
            self._check_fc_forward(checks, c, f"fc_forward/{i}", f"x {c['x'].shape}", 1)
        finish(self, checks, set_score, "fc_forward")

    @graded("fc_backward")
    def test_fc_backward(self, set_score=None):
        self._numpy_only(set_score)
        checks = Checks("fc_backward")
        per_case = []
        for i, c in enumerate(self.inp["fc"]):
            desc = inputs_text(x=c["x"], w=c["w"])
            per_case.append(self._fc_backward_problems(c, self.out[f"fc_backward/{i}"], desc))
        for name in FC_GRADS:  # one sub-check per gradient, over both input shapes (the first failure is shown)
            problems = [case[name] for case in per_case if case[name]]
            checks.add(name, 1, problems[0] if problems else None)
        # The student's own forward -> backward pair (counted only when the forward runs: fc_forward grades it).
        if self.out["fc_forward/0"].status == "ok":
            c = self.inp["fc"][0]
            pair = self._fc_backward_problems(c, self.out["fc_pair/0"], inputs_text(x=c["x"], w=c["w"]))
            bad = [p for p in pair.values() if p]
            checks.add("backward with your own forward's cache", 1,
                       bad[0].replace("fc_backward:", "fc_backward (fed your fc_forward's cache):", 1) if bad else None)
        else:
            checks.note("(your fc_backward was checked with the reference cache only, as fc_forward does not run)")
        right = [n for n in FC_GRADS if all(not case[n] for case in per_case)]
        recognized = any(compare.names_mistake(p) for case in per_case for p in case.values())
        if 0 < len(right) < len(FC_GRADS) and not recognized:  # a recognized mistake has its own hint
            checks.note("Check how grad_out is combined with the cached x and w for the gradients that are wrong "
                        "(their shapes tell which products and transposes fit).")
        finish(self, checks, set_score, "fc_backward")

    @graded("relu_forward")
    def test_relu_forward(self, set_score=None):
        self._numpy_only(set_score)
        checks = Checks("relu_forward")
        for i, c in enumerate(self.inp["relu"]):
            label = f"x {c['x'].shape}"
            items, problem = self._pair(f"relu_forward/{i}", "relu_forward", ("out", "cache"))
            if problem:
                checks.fail(label, 1, problem)
                continue
            p = compare_array(self.ref.relu_forward(c["x"])[0], items[0])
            checks.add(label, 1, p and f"relu_forward: out wrong for {inputs_text(x=c['x'])}: {p}.")
        finish(self, checks, set_score, "relu_forward")

    def _relu_backward_problem(self, c, outcome, subject="relu_backward"):
        problem = outcome_problem(outcome, "relu_backward")
        if problem:
            return f"{subject}: {problem}."
        expected = self.ref.relu_backward(c["dout"], self.ref.relu_forward(c["x"])[1])
        p = compare_array(expected, outcome.value)
        return p and f"{subject}: grad_x wrong for {inputs_text(x=c['x'])}: {p}."

    @graded("relu_backward")
    def test_relu_backward(self, set_score=None):
        self._numpy_only(set_score)
        checks = Checks("relu_backward")
        for i, c in enumerate(self.inp["relu"]):
            checks.add(f"x {c['x'].shape}", 1, self._relu_backward_problem(c, self.out[f"relu_backward/{i}"]))
        if self.out["relu_forward/0"].status == "ok":
            c = self.inp["relu"][0]
            checks.add("backward with your own forward's cache", 1, self._relu_backward_problem(
                c, self.out["relu_pair/0"], "relu_backward (fed your relu_forward's cache)"))
        finish(self, checks, set_score, "relu_backward")

    def _softmax_problems(self, c, outcome, subject="softmax_loss"):
        """(loss problem, grad problem) for one softmax_loss call."""
        items, problem = None, outcome_problem(outcome, "softmax_loss")
        if not problem:
            items, problem = unpack(outcome.value, ("loss", "grad"))
        if problem:  # the call itself failed: the same message whatever the inputs
            return f"softmax_loss: {problem}.", f"softmax_loss: {problem}."
        loss, grad = self.ref.softmax_loss(c["x"], c["y"])
        desc = inputs_text(x=c["x"], y=c["y"])
        p_loss = compare_scalar(float(loss), items[0], batch=c["x"].shape[0])
        p_grad = compare_array(grad, items[1], batch=c["x"].shape[0])
        return (p_loss and f"{subject}: loss wrong for {desc}: {p_loss}.",
                p_grad and f"{subject}: grad wrong for {desc}: {p_grad}.")

    @graded("softmax_loss")
    def test_softmax_loss(self, set_score=None):
        self._numpy_only(set_score)
        checks = Checks("softmax_loss")
        p_loss, p_grad = self._softmax_problems(self.inp["softmax"], self.out["softmax/0"])
        checks.add("loss", 2, p_loss)
        checks.add("grad", 2, p_grad)
        loss_problems, grad_problems = [], []
        for i, c in enumerate(self.inp["softmax_large"]):
            subject = f"softmax_loss (large scores, up to {np.abs(c['x']).max():.0e})"
            pl, pg = self._softmax_problems(c, self.out[f"softmax_large/{i}"], subject)
            loss_problems += [pl] if pl else []
            grad_problems += [pg] if pg else []
        checks.add("loss stable for large scores", 1, loss_problems[0] if loss_problems else None)
        checks.add("grad stable for large scores", 1, grad_problems[0] if grad_problems else None)
        if any("nan" in p or "inf" in p for p in loss_problems + grad_problems):
            checks.note("Subtract each row's maximum score before exp (it does not change the softmax).")
        finish(self, checks, set_score, "softmax_loss")

    @graded("l2_regularization")
    def test_l2_regularization(self, set_score=None):
        self._numpy_only(set_score)
        checks = Checks("l2_regularization")
        c = self.inp["l2"]
        items, problem = self._pair("l2/0", "l2_regularization", ("loss", "grad"))
        if problem:
            checks.fail("loss", 1, problem)
            checks.fail("grad", 1, problem)
        else:
            loss, grad = self.ref.l2_regularization(c["w"], c["reg"])
            desc = inputs_text(w=c["w"], reg=c["reg"])
            p = compare_scalar(float(loss), items[0])
            checks.add("loss", 1, p and f"l2_regularization: loss wrong for {desc}: {p}.")
            p = compare_array(grad, items[1])
            checks.add("grad", 1, p and f"l2_regularization: grad wrong for {desc}: {p}.")
        finish(self, checks, set_score, "l2_regularization")

    @graded("layers_edge_cases")
    def test_layers_edge_cases(self, set_score=None):
        self._numpy_only(set_score)
        checks = Checks("edge cases")
        e = self.inp["edge"]
        for key, what in (("fc_n1", "N = 1"), ("fc_unit", "one output unit")):
            c = e[key]
            self._check_fc_forward(checks, c, f"edge/{key}/forward", f"fc_forward {what}", 1)
            problems = self._fc_backward_problems(c, self.out[f"edge/{key}/backward"],
                                                  inputs_text(x=c["x"], w=c["w"]))
            bad = [p for p in problems.values() if p]
            checks.add(f"fc_backward {what}", 1, bad[0] if bad else None)
        c = e["relu_n1"]
        items, problem = self._pair("edge/relu_n1/forward", "relu_forward", ("out", "cache"))
        if not problem:
            problem = compare_array(self.ref.relu_forward(c["x"])[0], items[0])
            problem = problem and f"out wrong for x {c['x'].shape}: {problem}"
        checks.add("relu_forward N = 1", 1, problem and f"relu_forward: {problem}.")
        checks.add("relu_backward N = 1", 1, self._relu_backward_problem(c, self.out["edge/relu_n1/backward"]))
        pl, pg = self._softmax_problems(e["softmax_n1"], self.out["edge/softmax_n1"])
        checks.add("softmax_loss N = 1", 1, pl or pg)
        # Knock-on: name only the upstream rows of the functions whose edge cases failed (labels start with them).
        failed = {item.label.split()[0] for item in checks.items if item.problem}
        finish(self, checks, set_score, "layers_edge_cases",
               upstream=[r for r in rubric.RUBRIC["layers_edge_cases"].depends_on if r in failed])

