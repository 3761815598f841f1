"""Comparisons of student results with the reference, phrased for the student.

One line per failed sub-check, e.g.::

    fc_backward: grad_w wrong for x (4, 5), w (5, 3): max relative error 3.2e-01 (tolerance 1e-07).
    fc_backward: not attempted (raises NotImplementedError).

The ``compare_*`` functions return ``None`` when a value is right and otherwise a short reason (no trailing period);
:func:`outcome_problem` says what became of a sandboxed call. Nothing here runs student code: it only looks at plain
data that came back from the sandbox.
"""
from __future__ import annotations

import numbers
from typing import Any, Optional, Sequence, Tuple

import numpy as np

# Tolerances on the max relative error (see relative_error).
TOL_EXACT = 1e-7  # analytic result vs the reference on the same inputs (float64 round-off only)
TOL_NUMERIC = 1e-6  # analytic gradient vs central differences of the student's own forward (h = 1e-5)


def describe_shape(arr: Any) -> str:
    """'(4, 5)' for an array, 'scalar' for a number."""
    shape = np.shape(arr)
    return "scalar" if shape == () else str(tuple(shape))


def inputs_text(**named: Any) -> str:
    """'x (4, 5), w (5, 3)': names with their shapes (numbers shown as values)."""
    parts = []
    for name, value in named.items():
        if isinstance(value, numbers.Number) and not isinstance(value, bool):
            parts.append(f"{name} = {value:.4g}")
        else:
            parts.append(f"{name} {describe_shape(value)}")
    return ", ".join(parts)


def _elementwise_error(e: np.ndarray, g: np.ndarray, min_floor: float) -> np.ndarray:
    floor = max(1e-4 * float(np.max(np.abs(e))), min_floor)
    return np.abs(e - g) / np.maximum(np.abs(e) + np.abs(g), floor)


def relative_error(expected: np.ndarray, got: np.ndarray, min_floor: float = 1e-8) -> float:
    """Max over elements of |e - g| / max(|e| + |g|, floor), floor = 1e-4 * max|e| (at least ``min_floor``).

    The floor keeps elements that are tiny compared with the rest of the array (round-off noise around 0) from
    dominating; elsewhere this is the usual symmetric relative error.
    """
    e = np.asarray(expected, dtype=np.float64)
    g = np.asarray(got, dtype=np.float64)
    if e.size == 0:
        return 0.0
    return float(np.max(_elementwise_error(e, g, min_floor)))


def worst_element(expected: np.ndarray, got: np.ndarray) -> str:
    """'at [2, 1] expected 0.4312, got 0.2156': the element with the largest relative error (same shapes)."""
    e = np.asarray(expected, dtype=np.float64)
    g = np.asarray(got, dtype=np.float64)
    index = np.unravel_index(int(np.argmax(_elementwise_error(e, g, 1e-8))), e.shape)
    where = f" at [{', '.join(str(int(i)) for i in index)}]" if e.ndim else ""
    return f"{where} expected {float(e[index]) + 0.0:.6g}, got {float(g[index]) + 0.0:.6g}".lstrip()


def _as_number_array(got: Any) -> Tuple[Optional[np.ndarray], Optional[str]]:
    if got is None:
        return None, "returned None"
    if isinstance(got, (str, bytes, dict)):
        return None, f"returned a {type(got).__name__}, not a number array"
    try:
        arr = np.asarray(got)
    except (ValueError, TypeError):
        return None, "returned something that is not a number array"
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        return None, f"returned values of dtype {arr.dtype}, not numbers"
    return arr, None


def _matches(expected: np.ndarray, got: np.ndarray, tol: float) -> bool:
    return expected.shape == got.shape and relative_error(expected, got) <= tol


PRODUCT_TRANSPOSED = "check the order of the matrix product's factors and which of them is transposed"


def recognized_mistake(expected: Any, got: Any, batch: Optional[int] = None, tol: float = TOL_EXACT,
                       transpose_cause: str = PRODUCT_TRANSPOSED) -> Optional[str]:
    """The name of a recognizable mistake that turns ``expected`` into ``got``, or None.

    ``transpose_cause`` is what a transposed result says about its likely cause (by default a matrix product's
    factors; a confusion matrix says which index is the true class).

    Tried in this order: the transpose (``got.T == expected``), the opposite sign (``got == -expected``), and, when
    ``batch`` (the batch size N) is given and above 1, a result off by exactly N (``got * N == expected``: averaged
    where the batch is summed; ``got == expected * N``: summed where it is averaged). Both values must be finite
    number arrays (or numbers); an all-zero expectation matches no mistake.
    """
    e = np.asarray(expected, dtype=np.float64)
    g, problem = _as_number_array(got)
    if problem or np.iscomplexobj(g):
        return None
    g = g.astype(np.float64)
    if e.size == 0 or not np.any(e) or not (np.all(np.isfinite(e)) and np.all(np.isfinite(g))):
        return None
    if g.ndim == 2 and e.ndim == 2 and not _matches(e, g, tol) and _matches(e, g.T, tol):
        return f"it is the transpose of the expected {describe_shape(e)} result ({transpose_cause})"
    if g.shape == e.shape and not np.allclose(e, 0.0) and _matches(e, -g, tol):
        return ("it has the opposite sign of the expected value" if e.ndim == 0 else
                "it has the opposite sign of the expected result (every entry negated)")
    if batch is not None and int(batch) > 1 and g.shape == e.shape:
        n = int(batch)
        if _matches(e, g * n, tol):
            return (f"it is the expected divided by the batch size N = {n}: you averaged over the batch; sum over "
                    "it instead")
        if _matches(e, g / n, tol):
            return (f"it is N = {n} (the batch size) times the expected: you summed over the batch; average over it "
                    "instead (divide by N)")
    return None


# How recognized_mistake's texts start (names_mistake finds them in a reason).
MISTAKE_PHRASES = ("it is the transpose of the expected", "it has the opposite sign", "it is the expected divided by",
                   "(the batch size) times the expected")


def names_mistake(reason: Optional[str]) -> bool:
    """Whether a compare_* reason ends with a recognized mistake (then a generic hint would only distract)."""
    return bool(reason) and any(phrase in reason for phrase in MISTAKE_PHRASES)


def compare_array(expected: Any, got: Any, tol: float = TOL_EXACT, batch: Optional[int] = None,
                  transpose_cause: str = PRODUCT_TRANSPOSED) -> Optional[str]:
    """None when ``got`` has ``expected``'s shape and matches within ``tol``; else the reason.

    Args:
        expected: float array (any shape) from the reference.
        got: what the student's code returned (anything).
        batch: the batch size N of the inputs, when a result off by exactly N is a recognizable mistake.
        transpose_cause: what a transposed result says about its cause (see recognized_mistake).
    The reason ends with the name of a recognizable mistake when one fits (see :func:`recognized_mistake`).
    """
    exp = np.asarray(expected, dtype=np.float64)
    arr, problem = _as_number_array(got)
    if problem:
        return problem
    if arr.shape != exp.shape:
        reason = f"shape {describe_shape(arr)} instead of {describe_shape(exp)}"
        mistake = recognized_mistake(exp, arr, batch, tol, transpose_cause)
        return f"{reason}: {mistake}" if mistake else reason
    if np.iscomplexobj(arr):
        return "complex values returned"
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)) and np.all(np.isfinite(exp)):
        bad = "nan" if np.any(np.isnan(arr)) else "inf"
        return f"contains {bad} (expected finite values)"
    err = relative_error(exp, arr)
    if not err <= tol:
        reason = f"max relative error {err:.1e} (tolerance {tol:.0e}), {worst_element(exp, arr)}"
        mistake = recognized_mistake(exp, arr, batch, tol, transpose_cause)
        return f"{reason}: {mistake}" if mistake else reason
    return None


def compare_scalar(expected: float, got: Any, tol: float = TOL_EXACT, batch: Optional[int] = None) -> Optional[str]:
    """None when ``got`` is a single number matching ``expected``; a 1-element array is accepted too.

    ``batch``: the batch size N, when a value off by exactly N is a recognizable mistake (see recognized_mistake).
    """
    arr, problem = _as_number_array(got)
    if problem:
        return problem
    if arr.size != 1:
        return f"an array of shape {describe_shape(arr)} instead of a single number"
    value = float(np.real(arr.reshape(-1)[0]))
    expected = float(expected) + 0.0  # + 0.0 turns -0.0 into 0.0 for the message
    if not np.isfinite(value):
        return f"the value is {value} (expected {expected:.6g})"
    # A loss near 0 (e.g. softmax on very confident scores) may differ by an epsilon a student adds inside the log:
    # absolute differences below ~1e-4 * tol are accepted for single numbers.
    err = relative_error(np.array([expected]), np.array([value]), min_floor=1e-4)
    if not err <= tol:
        reason = f"{value:.6g} instead of {expected:.6g}: relative error {err:.1e} (tolerance {tol:.0e})"
        mistake = recognized_mistake(expected, value, batch, tol)
        return f"{reason}: {mistake.replace('expected result', 'expected value')}" if mistake else reason
    return None


def unpack(value: Any, names: Sequence[str]) -> Tuple[Optional[list], Optional[str]]:
    """Split a returned tuple into ``len(names)`` items; (None, reason) when it is not such a tuple or list."""
    n = len(names)
    wanted = f"a tuple of {n} ({', '.join(names)})"
    if value is None:
        return None, f"returned None instead of {wanted}"
    if not isinstance(value, (tuple, list)):
        return None, f"returned a {type(value).__name__} instead of {wanted}"
    if len(value) != n:
        return None, f"returned a tuple of {len(value)} values instead of {wanted}"
    return list(value), None


def outcome_problem(outcome: Any, subject: str = "") -> Optional[str]:
    """None for an ``ok`` outcome; else what went wrong, phrased for the student (no grader traceback).

    A stub gives "not attempted (raises NotImplementedError)"; when the stub that raised is another function than
    ``subject`` (e.g. training_step calling an unfinished softmax_loss), its own text is kept so the student sees which.
    """
    status = outcome.status
    message = (outcome.message or "").strip()
    if status == "ok":
        return None
    if status == "not_implemented":
        inner = message.partition("NotImplementedError")[2].strip(" :)")
        if not inner or (subject and inner.split(":")[0].split(".")[-1] == subject.split(".")[-1]):
            return "not attempted (raises NotImplementedError)"
        return f"not attempted (raises NotImplementedError: {inner})"
    if status == "error":
        return f"raised {message}"
    if status == "timeout":
        return f"timed out: {message}"
    if status == "memory":
        return f"ran out of memory: {message}"
    if status == "crashed":
        return f"crashed: {message}"
    if status == "import_error":
        return message or "could not be imported"
    return message or status  # bad_output


def report_problem(value: Any, keys: Sequence[str], names: Optional[Sequence[str]] = None, count: int = 0,
                   per_name: Sequence[str] = ()) -> Optional[str]:
    """None when a harness procedure's report has the form it sends; else why not, for the student.

    The harness runs in the student's process, which can change it: the grader never lets the report decide how
    many checks it makes. ``count`` parameters must be reported under distinct names, all among ``param_keys`` when
    that key is there, and equal to ``names`` when the grader knows them (the probe model's); every key in
    ``per_name`` must hold one entry per parameter.
    """
    def tampered(detail: str) -> str:
        return ("the checker's report is not in the form it sends (did your code change the checker running next "
                f"to it?): {detail}")[:400]
    if not isinstance(value, dict):
        return tampered(f"a {type(value).__name__} instead of a dict")
    missing = [k for k in keys if k not in value]
    if missing:
        return tampered(f"no {', '.join(missing)}")
    if count:
        got = value.get("names")
        if not isinstance(got, (list, tuple)) or len(got) != count or len({str(n) for n in got}) != count:
            return tampered(f"{count} distinct parameter names expected, got {got!r}")
        if names is not None and [str(n) for n in got] != list(names):
            return tampered(f"parameter names {list(names)} expected, got {got!r}")
        param_keys = value.get("param_keys")
        if param_keys is not None and (not isinstance(param_keys, (list, tuple)) or
                                       not {str(n) for n in got} <= {str(k) for k in param_keys}):
            return tampered(f"the names {got!r} are not all among parameters()' keys {param_keys!r}")
        for key in per_name:
            if not isinstance(value.get(key), (list, tuple)) or len(value[key]) != count:
                return tampered(f"{key}: {count} entries expected")
    return None
