"""Check your computational-graph functions in functions.py (Section 1, task 1).

Run from this folder:

    python backprop.py                          # outputs and gradients of every function
    python backprop.py --function f3            # only f3 (both y = 1 and y = 2)
    python backprop.py --action check-grads     # only the numeric gradient check

Checks:
* outputs: each function's output on the 100 saved inputs of backprop-data.pkl must match the saved output within a
  tolerance (f1: 1e-10, the others: 1e-8);
* gradients: on random inputs in [0, 1) (``--seed``), every analytic gradient must match the central difference
  (f(x + h) - f(x - h)) / (2h), h = 1e-4, within the same tolerance. An f4 that takes no arguments (the stub) is
  skipped.

One line per function and check, then an overall line; the exit status is 0 only when everything checked passes.
``--action save-outputs`` writes a new data file from your functions (instructors use it through
autograder/build/backprop_data.py; you do not need it).
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
H = 1e-4  # step of the central differences
NUM_SAMPLES = 100  # saved inputs per function in the data file
NUM_GRAD_TRIALS = 20  # random points per function in the gradient check
PICKLE_PROTOCOL = 4  # fixed, so a regenerated data file is byte-identical

# Name in the data file and in the output -> (name of the function in functions.py, number of inputs, tolerance).
CHECKS: Dict[str, Tuple[str, int, float]] = {
    "f1": ("f1", 6, 1e-10),
    "f2": ("f2", 1, 1e-8),
    "f3 (y=1)": ("f3_y1", 2, 1e-8),
    "f3 (y=2)": ("f3_y2", 2, 1e-8),
}
F4_TOLERANCE = 1e-8
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
    for key, (func_name, nargs, _) in CHECKS.items():
        func = getattr(functions, func_name)
        inputs = [tuple(rng.random() for _ in range(nargs)) for _ in range(num_samples)]
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
        grads.append((func(*plus)[0] - func(*minus)[0]) / (2 * h))
    return grads


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


def check_outputs(func: Callable, inputs: Sequence[tuple], outputs: Sequence[float], tol: float) -> Tuple[bool, str]:
    """Compare ``func(*x)[0]`` with each saved output. Returns (passed, description)."""
    worst, worst_at = 0.0, 0
    for i, (x, expected) in enumerate(zip(inputs, outputs)):
        result = func(*x)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise CheckFailed("must return (output, grads)")
        err = abs(_as_float(result[0], "the output") - expected)
        if not err <= worst:  # also catches NaN
            worst, worst_at = err, i
        if math.isnan(err):
            break
    passed = worst <= tol
    detail = f"{len(inputs)} saved inputs, max error {worst:.1e} (tolerance {tol:g})"
    if not passed:
        detail += f"; worst at inputs {tuple(round(v, 4) for v in inputs[worst_at])}"
    return passed, detail


def check_grads(func: Callable, nargs: int, tol: float, rng: random.Random,
                trials: int = NUM_GRAD_TRIALS) -> Tuple[bool, str]:
    """Compare the returned gradients with central differences at random inputs. Returns (passed, description)."""
    worst, worst_x, worst_i = 0.0, None, 0
    for _ in range(trials):
        x = [rng.random() for _ in range(nargs)]
        analytic = _grads_of(func(*x), nargs)
        numeric = numeric_grads(func, x)
        for i, (a, n) in enumerate(zip(analytic, numeric)):
            err = abs(a - n)
            if not err <= worst:
                worst, worst_x, worst_i = err, x, i
    passed = worst <= tol
    detail = f"{trials} random inputs, max error {worst:.1e} (tolerance {tol:g})"
    if not passed and worst_x is not None:
        detail += f"; worst: derivative w.r.t. input {worst_i + 1} at {tuple(round(v, 4) for v in worst_x)}"
    return passed, detail


def _positional_count(func: Callable) -> int:
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in inspect.signature(func).parameters.values() if p.kind in kinds)


def run_checks(functions, names: Sequence[str], action: str, data: Optional[dict], seed: int) -> bool:
    """Print one line per function and check; returns True when every check that ran passed."""
    all_passed = True
    for name in names:
        if name == "f4":
            func, nargs, tol = getattr(functions, "f4", None), None, F4_TOLERANCE
            if func is None:
                print("f4: not implemented (functions.py has no f4)")
                all_passed = False
                continue
            nargs = _positional_count(func)
            if nargs == 0:
                print("f4: not implemented (f4 takes no arguments; gradient check skipped)")
                all_passed = False
                continue
        else:
            func_name, nargs, tol = CHECKS[name]
            func = getattr(functions, func_name)
        steps = []
        if action in ("check-both", "check-outputs") and name != "f4":
            steps.append(("outputs", lambda: check_outputs(func, data[name]["inputs"], data[name]["outputs"], tol)))
        if action in ("check-both", "check-grads"):
            # One generator per function, so checking one function alone sees the same inputs as checking all.
            rng = random.Random(f"{seed}/{name}")
            steps.append(("gradients", lambda: check_grads(func, nargs, tol, rng)))
        for what, step in steps:
            try:
                passed, detail = step()
            except NotImplementedError:
                print(f"{name}: not implemented")
                all_passed = False
                break
            except CheckFailed as exc:
                passed, detail = False, str(exc)
            except Exception as exc:  # noqa: BLE001 -- the student's code raised: reported on one line, counted as FAIL
                passed, detail = False, f"raised {type(exc).__name__}: {exc}"
            print(f"{name}: {what} {'PASS' if passed else 'FAIL'} ({detail})")
            all_passed = all_passed and passed
    return all_passed


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
    passed = run_checks(functions, FUNCTION_GROUPS[args.function], args.action, data, args.seed)
    print(f"overall: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
