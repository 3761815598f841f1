"""Graded tests for backprop/functions.py (rubric items 1.1-1.4).

f1, f2, f3: the value and every gradient against the reference (backprop/functions.py) on fresh seeded inputs.
f4 is the student's own graph: when it takes arguments, its gradients are checked against central differences of
its own forward (evaluated in the sandbox at x +- h; the differences are taken here). f1, f2 and f4 are optional
(0 points): a stub is reported as "not attempted" without failing.
"""
from __future__ import annotations

import numpy as np

from autograder.grading.compare import compare_scalar, outcome_problem, unpack
from autograder.grading.scoring import Checks, finish, not_attempted_everywhere
from autograder.grading.checks import GradedTestCase, graded
from autograder.grading.checks import section1_common as common
from autograder.grading.student_code import Call

FILE = "functions.py"
MODULE = "functions"
PROCEDURES = common.PROCEDURES
SEED = 5_118_203  # fixed so grading is deterministic; not a seed the kit uses
SAMPLES = 4  # random inputs per function
TOL_VALUE = {"f1": 1e-10, "f2": 1e-8, "f3": 1e-8}  # the kit driver's output tolerances
TOL_GRAD = 1e-8
F4_STEP = 1e-5
F4_TOL = 1e-5  # central differences of an arbitrary student graph: looser than for the fixed functions
ARG_NAMES = {"f1": ("x1", "w1", "x2", "w2", "b", "y"), "f2": ("x",), "f3": ("s1", "s2")}


def _inputs() -> dict:
    """Per function: a list of argument tuples (plain Python floats; f3 gets y = 1 and y = 2 separately)."""
    rng = np.random.default_rng(SEED)
    floats = lambda n, lo, hi: tuple(float(v) for v in rng.uniform(lo, hi, size=n))  # noqa: E731
    return {
        "f1": [floats(6, -2.0, 2.0) for _ in range(SAMPLES)],
        "f2": [floats(1, -1.5, 1.5) for _ in range(SAMPLES)],
        "f3 (y=1)": [floats(2, -3.0, 3.0) + (1,) for _ in range(SAMPLES)],
        "f3 (y=2)": [floats(2, -3.0, 3.0) + (2,) for _ in range(SAMPLES)],
        "f4": [float(v) for v in rng.uniform(0.5, 1.5, size=16)],
    }


def _calls(inp: dict) -> list:
    calls = [Call("frameworks", MODULE, f"{PROCEDURES}.loaded_frameworks", args=(list(common.RULE.forbidden),))]
    for key in ("f1", "f2", "f3 (y=1)", "f3 (y=2)"):
        func = key.split()[0]
        for i, args in enumerate(inp[key]):
            calls.append(Call(f"{key}/{i}", MODULE, func=func, args=args))
    calls.append(Call("f4", MODULE, f"{PROCEDURES}.f4_probe", args=(inp["f4"], F4_STEP)))
    return calls


def _args_text(func: str, args: tuple) -> str:
    names = ARG_NAMES[func] + (("y",) if func == "f3" else ())
    return ", ".join(f"{n} = {v:.4g}" for n, v in zip(names, args))


class TestBackprop(GradedTestCase):
    """backprop/functions.py: computational graphs, values and gradients."""


    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ref = common.functions()
        cls.inp = _inputs()
        cls.out, cls.problem = common.run_batch(cls, FILE, _calls(cls.inp))

    def _check_function(self, checks: Checks, key: str, suffix: str = "") -> None:
        """Sub-checks 'value' and one per gradient for every input sample of ``key`` (first failure shown)."""
        func = key.split()[0]
        grad_names = tuple(f"g{n}" for n in ARG_NAMES[func])
        problems = {name: None for name in ("value",) + grad_names}
        for i, args in enumerate(self.inp[key]):
            outcome = self.out[f"{key}/{i}"]
            problem = outcome_problem(outcome, func)
            items = grads = None
            if not problem:
                items, problem = unpack(outcome.value, ("value", "grads"))
            if not problem:
                grads, problem = unpack(items[1], grad_names)
                if problem:
                    problem = f"the gradients: {problem}"
            if problem:
                for name in problems:
                    problems[name] = problems[name] or f"{func}: {problem}."
                continue
            exp_value, exp_grads = getattr(self.ref, func)(*args)
            where = _args_text(func, args)
            p = compare_scalar(float(exp_value), items[0], TOL_VALUE[func])
            if p and not problems["value"]:
                problems["value"] = f"{func}: value wrong for {where}: {p}."
            for name, exp, got in zip(grad_names, exp_grads, grads):
                p = compare_scalar(float(exp), got, TOL_GRAD)
                if p and not problems[name]:
                    problems[name] = f"{func}: {name} wrong for {where}: {p}."
        for name, problem in problems.items():
            checks.add(f"{name}{suffix}", 1, problem)

    def _finish_optional(self, checks: Checks, item_id: str, set_score) -> None:
        """Optional functions: a stub is only reported; anything attempted is graded (0 points, feedback only)."""
        if not_attempted_everywhere(checks):
            print(f"{item_id} (optional): not attempted.")
            return
        finish(self, checks, set_score, item_id)

    @graded("f1")
    def test_f1(self, set_score=None):
        common.stop_if_not_numpy_only(self, self.problem, set_score)
        checks = Checks("f1")
        self._check_function(checks, "f1")
        self._finish_optional(checks, "f1", set_score)

    @graded("f2")
    def test_f2(self, set_score=None):
        common.stop_if_not_numpy_only(self, self.problem, set_score)
        checks = Checks("f2")
        self._check_function(checks, "f2")
        self._finish_optional(checks, "f2", set_score)

    @graded("f3")
    def test_f3(self, set_score=None):
        common.stop_if_not_numpy_only(self, self.problem, set_score)
        checks = Checks("f3")
        self._check_function(checks, "f3 (y=1)", " (y = 1)")
        self._check_function(checks, "f3 (y=2)", " (y = 2)")
        finish(self, checks, set_score, "f3")

    @graded("f4")
    def test_f4(self, set_score=None):
        common.stop_if_not_numpy_only(self, self.problem, set_score)
        checks = Checks("f4")
        outcome = self.out["f4"]
        problem = outcome_problem(outcome, "f4")
        if problem:
            checks.fail("run", 1, problem)
            return self._finish_optional(checks, "f4", set_score)
        info = outcome.value
        if info["nargs"] == -1:
            print("f4 (optional): functions.py has no f4.")
            return None
        if info["nargs"] == 0:
            print("f4 (optional): not attempted (f4 takes no arguments).")
            return None
        n = info["nargs"]
        x = info["inputs"]
        items, problem = unpack(info["result"], ("value", "grads"))
        if not problem:
            grads, problem = unpack(items[1], tuple(f"g{i + 1}" for i in range(n)))
        if problem:
            checks.fail("result", 1, problem)
            return finish(self, checks, set_score, "f4")
        where = ", ".join(f"{v:.4g}" for v in x)
        try:
            value_ok = np.isfinite(float(np.asarray(items[0], dtype=np.float64).reshape(-1)[0]))
        except (TypeError, ValueError, IndexError):
            value_ok = False
        checks.add("value", 1, None if value_ok else f"f4: the value is not a finite number for inputs ({where}).")
        numerics = []
        for i in range(n):
            try:
                numeric = (float(np.asarray(info["plus"][i], dtype=np.float64).reshape(-1)[0])
                           - float(np.asarray(info["minus"][i], dtype=np.float64).reshape(-1)[0])) / (2 * F4_STEP)
            except (TypeError, ValueError, IndexError):
                checks.fail(f"g{i + 1}", 1, "the value returned is not a number")
                continue
            numerics.append(numeric)
            p = compare_scalar(numeric, grads[i], F4_TOL)
            checks.add(f"g{i + 1}", 1, p and f"f4: gradient {i + 1} of {n} disagrees with central differences of "
                                             f"your f4 at ({where}): {p}.")
        # A constant f4 (say, zeros everywhere) agrees with its own central differences but is no graph.
        checks.add("depends on its inputs", 1, None if any(v != 0.0 for v in numerics) else
                   f"f4: the value does not change when any input changes (at ({where})): f4 must compute a loss "
                   "from its inputs.")
        finish(self, checks, set_score, "f4")
        return None
