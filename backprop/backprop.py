"""Check your computational-graph functions in functions.py (Section 1, task 1).

Run from this folder:

    python backprop.py                          # outputs and gradients of every function
    python backprop.py --function f3            # only f3 (both y = 1 and y = 2)
    python backprop.py --action check-grads     # only the numeric gradient check

Checks (the grader's tolerances):
* outputs: each function's output on the 100 saved inputs of backprop-data.pkl must match the saved output within a
  relative error of 1e-10 (f1) or 1e-8 (the others);
* gradients: on random inputs (``--seed``) in the grader's ranges (f1 [-2, 2), f2 [-1.5, 1.5), f3 [-3, 3),
  f4 [0.5, 1.5)), every analytic gradient (dL/dx1, ..., named by its argument)
  must match the central difference (f(x + h) - f(x - h)) / (2h), h = 1e-4, within 1e-8; f4's gradients, of a
  graph of your own, within a relative error of 1e-5 with h = 1e-5. An f4 that takes no arguments (the stub) is
  skipped. A failing check shows the worst entry: the inputs, the expected and the returned value.

One line per function and check, then a summary: f3 is required (it earns the points), f1, f2 and f4 are optional
(feedback only): an optional function left as its stub is reported as not attempted and does not fail the run. The
exit status is 0 when every required function checked passes and no optional function you attempted fails.
``--action save-outputs`` writes a new data file from your functions (you do not need it).
"""
from __future__ import annotations

import argparse
import inspect
import math
import os
import pickle
import random
import sys
from typing import Callable, Dict, List, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PKL = os.path.join(HERE, "backprop-data.pkl")
H = 1e-4  # step of the central differences (f1, f2, f3)
NUM_SAMPLES = 100  # saved inputs per function in the data file
NUM_GRAD_TRIALS = 20  # random points per function in the gradient check
PICKLE_PROTOCOL = 4  # fixed, so a regenerated data file is byte-identical

# The grader's numbers (autograder/grading/checks/section1_backprop.py; tests/test_section1_kit.py checks that
# they agree): the relative error of each output, of each gradient, and of f4's gradients against central
# differences of f4 with step F4_STEP.
# Name in the data file and in the output -> (name of the function in functions.py, its arguments, output tolerance).
CHECKS: Dict[str, Tuple[str, Tuple[str, ...], float]] = {
    "f1": ("f1", ("x1", "w1", "x2", "w2", "b", "y"), 1e-10),
    "f2": ("f2", ("x",), 1e-8),
    "f3 (y=1)": ("f3_y1", ("s1", "s2"), 1e-8),
    "f3 (y=2)": ("f3_y2", ("s1", "s2"), 1e-8),
}
GRAD_TOLERANCE = 1e-8
F4_STEP = 1e-5
F4_TOLERANCE = 1e-5
# The ranges the grader draws its inputs from, used for the random inputs of the gradient check.
GRAD_RANGES: Dict[str, Tuple[float, float]] = {"f1": (-2.0, 2.0), "f2": (-1.5, 1.5), "f3 (y=1)": (-3.0, 3.0),
                                               "f3 (y=2)": (-3.0, 3.0), "f4": (0.5, 1.5)}
# The output's name in the gradients' labels (dy/dx for f2, dL/d... for the others).
OUTPUT_NAME = {"f2": "y"}
REQUIRED = ("f3 (y=1)", "f3 (y=2)")  # f3 earns the points; f1, f2 and f4 are optional (feedback only)
# --function choices -> the names checked
FUNCTION_GROUPS = {"all": ["f1", "f2", "f3 (y=1)", "f3 (y=2)", "f4"], "f1": ["f1"], "f2": ["f2"],
                   "f3": ["f3 (y=1)", "f3 (y=2)"], "f4": ["f4"]}


def make_data(functions, seed: int, num_samples: int = NUM_SAMPLES) -> Dict[str, Dict[str, list]]:
    """Random inputs in [0, 1) and the outputs of ``functions`` on them, in the format of backprop-data.pkl.

    Args:
        functions: a module (or object) with f1, f2, f3_y1, f3_y2.
        seed: seed of the random inputs (Python's ``random``, so the result does not depend on numpy).
        num_samples: inputs per function.
    Returns:
        {'f1' | 'f2' | 'f3 (y=1)' | 'f3 (y=2)': {'inputs': list of num_samples tuples of floats,
        'outputs': list of num_samples floats}}.
    """
    rng = random.Random(seed)
    data: Dict[str, Dict[str, list]] = {}
    for key, (func_name, arg_names, _) in CHECKS.items():
        func = getattr(functions, func_name)
        inputs = [tuple(rng.random() for _ in arg_names) for _ in range(num_samples)]
        outputs = [float(func(*x)[0]) for x in inputs]
        data[key] = {"inputs": inputs, "outputs": outputs}
    return data


def save_data(data: Dict[str, Dict[str, list]], path: str) -> None:
    """Pickle ``data`` (from :func:`make_data`) to ``path`` with a fixed protocol."""
    with open(path, "wb") as handle:
        pickle.dump(data, handle, protocol=PICKLE_PROTOCOL)


def numeric_grads(func: Callable, x: Sequence[float], h: float = H) -> List[float]:
    """Central differences of the first output of ``func`` at ``x``: one float per input."""
    grads = []
    for i in range(len(x)):
        plus = list(x)
        minus = list(x)
        plus[i] += h
        minus[i] -= h
        grads.append((_as_float(func(*plus)[0], "the output") - _as_float(func(*minus)[0], "the output")) / (2 * h))
    return grads


def relative_error(expected: float, got: float) -> float:
    """|expected - got| / max(|expected| + |got|, 1e-4): the grader's measure for single numbers (the floor keeps
    values near 0 from being judged by round-off)."""
    err = abs(expected - got) / max(abs(expected) + abs(got), 1e-4)
    return float("inf") if math.isnan(err) else err


class CheckFailed(Exception):
    """A function returned something of the wrong form (the message says what)."""


def _as_float(value, what: str) -> float:
    if isinstance(value, bool) or not (isinstance(value, (int, float)) or hasattr(value, "__float__")):
        raise CheckFailed(f"{what} is {type(value).__name__}, expected a float")
    return float(value)


def _grads_of(result, nargs: int) -> List[float]:
    """The gradient tuple of a returned (output, grads), validated."""
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed("must return (output, grads)")
    grads = result[1]
    if not isinstance(grads, (tuple, list)) or len(grads) != nargs:
        raise CheckFailed(f"grads must be a tuple of {nargs} floats (one per input), got {grads!r}")
    return [_as_float(g, f"grads[{i}]") for i, g in enumerate(grads)]


def _point(arg_names: Sequence[str], x: Sequence[float]) -> str:
    """'x1 = 0.1234, w1 = 0.5'."""
    return ", ".join(f"{n} = {v:.4g}" for n, v in zip(arg_names, x))


def grad_label(output: str, arg: str) -> str:
    """'dL/dw1'."""
    return f"d{output}/d{arg}"


def check_outputs(func: Callable, inputs: Sequence[tuple], outputs: Sequence[float], tol: float,
                  arg_names: Sequence[str] = ()) -> Tuple[bool, str]:
    """Compare ``func(*x)[0]`` with each saved output (relative error). Returns (passed, description)."""
    worst, worst_at, worst_got = 0.0, 0, None
    for i, (x, expected) in enumerate(zip(inputs, outputs)):
        result = func(*x)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise CheckFailed("must return (output, grads)")
        got = _as_float(result[0], "the output")
        err = relative_error(expected, got)
        if err > worst:
            worst, worst_at, worst_got = err, i, got
    passed = worst <= tol
    detail = f"{len(inputs)} saved inputs, max relative error {worst:.1e} (tolerance {tol:g})"
    if not passed:
        names = arg_names or [f"input {k + 1}" for k in range(len(inputs[worst_at]))]
        detail += (f"; worst at {_point(names, inputs[worst_at])}: expected {outputs[worst_at]:.10g}, "
                   f"got {worst_got:.10g}")
    return passed, detail


def check_grads(func: Callable, arg_names: Sequence[str], tol: float, rng: random.Random,
                trials: int = NUM_GRAD_TRIALS, output: str = "L", h: float = H,
                relative: bool = False, low: float = 0.0, high: float = 1.0) -> Tuple[bool, str]:
    """Compare the returned gradients with central differences at random inputs. Returns (passed, description).

    The inputs are uniform in [low, high); the error is |analytic - numeric| (``relative``: the grader's relative
    error, used for f4)."""
    nargs = len(arg_names)
    worst, worst_x, worst_i, worst_a, worst_n = 0.0, None, 0, 0.0, 0.0
    for _ in range(trials):
        x = [rng.uniform(low, high) for _ in range(nargs)]
        analytic = _grads_of(func(*x), nargs)
        numeric = numeric_grads(func, x, h)
        for i, (a, n) in enumerate(zip(analytic, numeric)):
            err = relative_error(n, a) if relative else abs(a - n)
            if math.isnan(err):
                err = float("inf")
            if err > worst or worst_x is None:
                worst, worst_x, worst_i, worst_a, worst_n = err, x, i, a, n
    passed = worst <= tol
    measure = "max relative error" if relative else "max error"
    detail = f"{trials} random inputs, {measure} {worst:.1e} (tolerance {tol:g})"
    if not passed and worst_x is not None:
        detail += (f"; worst: {grad_label(output, arg_names[worst_i])} at {_point(arg_names, worst_x)}: "
                   f"expected {worst_n:.10g} (central differences), got {worst_a:.10g}")
    return passed, detail


def _positional_names(func: Callable) -> List[str]:
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in inspect.signature(func).parameters.values() if p.kind in kinds]


def run_checks(functions, names: Sequence[str], action: str, data: Optional[dict], seed: int) -> Dict[str, str]:
    """Print one line per function and check; returns name -> 'PASS', 'FAIL' or 'not attempted'."""
    status: Dict[str, str] = {}
    for name in names:
        if name == "f4":
            func, tol, output = getattr(functions, "f4", None), F4_TOLERANCE, "L"
            if func is None:
                print("f4: not implemented (optional; functions.py has no f4)")
                status[name] = "not attempted"
                continue
            arg_names = _positional_names(func)
            if not arg_names:
                print("f4: not implemented (optional; f4 takes no arguments, so its gradient check is skipped)")
                status[name] = "not attempted"
                continue
        else:
            func_name, arg_names, tol = CHECKS[name]
            func = getattr(functions, func_name)
            output = OUTPUT_NAME.get(name, "L")
        steps = []
        if action in ("check-both", "check-outputs") and name != "f4":
            steps.append(("outputs", lambda: check_outputs(func, data[name]["inputs"], data[name]["outputs"], tol,
                                                           arg_names)))
        if action in ("check-both", "check-grads"):
            # One generator per function, so checking one function alone sees the same inputs as checking all.
            rng = random.Random(f"{seed}/{name}")
            low, high = GRAD_RANGES[name]
            if name == "f4":
                steps.append(("gradients", lambda: check_grads(func, arg_names, tol, rng, output=output, h=F4_STEP,
                                                               relative=True, low=low, high=high)))
            else:
                steps.append(("gradients", lambda: check_grads(func, arg_names, GRAD_TOLERANCE, rng,
                                                               output=output, low=low, high=high)))
        for what, step in steps:
            try:
                passed, detail = step()
            except NotImplementedError:
                optional = "" if name in REQUIRED else " (optional)"
                print(f"{name}: not implemented{optional}")
                status[name] = "not attempted"
                break
            except CheckFailed as exc:
                passed, detail = False, str(exc)
            except Exception as exc:  # noqa: BLE001 -- the student's code raised: reported on one line, counted as FAIL
                passed, detail = False, f"raised {type(exc).__name__}: {exc}"
            print(f"{name}: {what} {'PASS' if passed else 'FAIL'} ({detail})")
            if not passed:
                status[name] = "FAIL"
            else:
                status.setdefault(name, "PASS")
    return status


def summary(status: Dict[str, str]) -> Tuple[List[str], bool]:
    """The summary lines (required, optional, overall) and whether the exit status is 0.

    The run passes when every required function checked passes and no optional function that was attempted fails;
    an optional function left as its stub is only reported (the grader gives it no points either way)."""
    lines = []
    required = [status[n] for n in REQUIRED if n in status]
    if required:
        state = ("PASS" if all(s == "PASS" for s in required)
                 else "not implemented" if all(s == "not attempted" for s in required) else "FAIL")
        lines.append(f"required (f3, graded): {state}")
    optional = {n: s for n, s in status.items() if n not in REQUIRED}
    if optional:
        parts = [f"{n} {'PASS' if s == 'PASS' else 'failing' if s == 'FAIL' else 'not attempted'}"
                 for n, s in optional.items()]
        lines.append(f"optional (no points, feedback only): {', '.join(parts)}")
    required_ok = all(s == "PASS" for s in required)
    optional_failing = [n for n, s in optional.items() if s == "FAIL"]
    if not required_ok:
        lines.append("overall: FAIL")
    elif optional_failing:
        lines.append(f"overall: required part done; optional {', '.join(optional_failing)} failing (see above)")
    else:
        lines.append("overall: PASS")
    return lines, required_ok and not optional_failing


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Check the functions of functions.py (outputs and gradients).")
    parser.add_argument("--action", choices=["check-both", "check-outputs", "check-grads", "save-outputs"],
                        default="check-both", help="what to do (default: check-both)")
    parser.add_argument("--function", choices=sorted(FUNCTION_GROUPS), default="all",
                        help="which function to check (default: all; f3 covers y = 1 and y = 2)")
    parser.add_argument("--pkl-path", default=DEFAULT_PKL,
                        help="the saved inputs and outputs (default: backprop-data.pkl beside this script)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random inputs of the gradient check (and of save-outputs)")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, HERE)
    import functions  # the student's file, beside this script

    if args.action == "save-outputs":
        save_data(make_data(functions, args.seed), args.pkl_path)
        print(f"wrote {args.pkl_path}")
        return 0
    data = None
    if args.action in ("check-both", "check-outputs"):
        if not os.path.isfile(args.pkl_path):
            print(f"error: data file {args.pkl_path} not found (it comes with the kit, beside backprop.py)")
            return 2
        with open(args.pkl_path, "rb") as handle:
            data = pickle.load(handle)
    status = run_checks(functions, FUNCTION_GROUPS[args.function], args.action, data, args.seed)
    lines, passed = summary(status)
    for line in lines:
        print(line)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
