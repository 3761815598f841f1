"""Graded tests for the extra-credit autograd framework (rubric items 10.x): autograd/tensor.py, nn.py, optim.py.

The student hands the three files in as autograd_tensor.py, autograd_nn.py and autograd_optim.py (names of their
own, so that they never clash with another part's files); the sandbox workspace gets them back under their kit names
(the part's declaration), so ``from tensor import Tensor`` works as in the kit. Every scenario is a function of harness/autograd_procedures.py: the sandbox runs it on the
student's framework, this process runs the very same function on the reference framework (loaded here, never in the
sandbox) on the same seeded inputs, and only the values are compared here. Partial credit per op: half for the
value, half for the gradients (shared among the op's inputs).
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from autograder.grading import autograd_reference, numpy_only
from autograder.grading.compare import compare_array, compare_scalar, inputs_text, outcome_problem
from autograder.grading.scoring import Checks, finish
from autograder.grading.checks import GradedTestCase, graded
from autograder.grading.harness import autograd_procedures as procedures
from autograder.grading.student_code import Call
from autograder.parts import autograd as declaration

PROCEDURES = "autograd_procedures"
SEED = 5_120_917  # fixed so grading is deterministic; not a seed the kit uses
RULE = numpy_only.Rule("the autograd framework")  # numpy only, as Section 1
# submitted name -> name in the sandbox workspace (the kit's name)
FILES = {h.name: h.workspace_name for h in declaration.PART.hand_in if h.workspace_name}
DEEP_CHAIN_STEPS = 2600  # 2 nodes a step: > 5000 nodes, far past Python's recursion limit of 1000
DIAMOND_LEVELS = 30  # 2**30 paths: a backward that walks each path instead of each node once never ends

# row -> (op name in procedures.OPS, input shapes, "normal" | "positive" | "away_from_zero")
OP_ROWS = {
    "ag_arithmetic": [
        ("add", [(4, 3), (4, 3)], "normal"),
        ("add", [(2, 3, 4), (3, 1)], "normal"),
        ("add (scalar on the left)", [(3, 4)], "normal"),
        ("sub", [(4,), (5, 4)], "normal"),
        ("sub (scalar on the left)", [(3, 2)], "normal"),
        ("mul", [(5, 1), (1, 6)], "normal"),
        ("mul (scalars both sides)", [(3,)], "normal"),
        ("div", [(3, 4), (4,)], "positive"),
        ("div (scalar on the left)", [(2, 3)], "positive"),
        ("neg", [(3, 3)], "normal"),
    ],
    "ag_matmul_pow": [
        ("matmul", [(3, 5), (5, 2)], "normal"),
        ("pow", [(4, 2)], "positive"),
        ("pow (negative fraction)", [(4, 2)], "positive"),
    ],
    "ag_shapes": [
        ("sum", [(3, 4)], "normal"),
        ("sum(axis=1)", [(3, 4, 2)], "normal"),
        ("sum(axis=(0, 2), keepdims=True)", [(3, 4, 2)], "normal"),
        ("mean", [(3, 4)], "normal"),
        ("mean(axis=0)", [(3, 4)], "normal"),
        ("mean(axis=-1, keepdims=True)", [(2, 3, 4)], "normal"),
        ("reshape", [(3, 4)], "normal"),
        ("transpose", [(3, 4)], "normal"),
        ("transpose(2, 0, 1)", [(2, 3, 4)], "normal"),
        ("x[rows, cols] (integer arrays, repeated)", [(4, 5)], "normal"),
    ],
    "ag_functions": [
        ("exp", [(3, 4)], "normal"),
        ("log", [(3, 4)], "positive"),
        ("relu", [(4, 5)], "away_from_zero"),
        ("sigmoid", [(4, 5)], "normal"),
        ("tanh", [(4, 5)], "normal"),
        ("log_softmax(axis=1)", [(4, 5)], "normal"),
        ("log_softmax(axis=0)", [(4, 5)], "normal"),
        ("cross_entropy", [(6, 4)], "normal"),
    ],
    "ag_graph": [
        ("x * x + exp(x) * x (x used three times)", [(3, 3)], "normal"),
        ("(a + b) * a - b / (a * a + 1) (a, b reused)", [(2, 3), (3,)], "normal"),
    ],
}
OPTIMIZERS = {
    "ag_optim": [("SGD", {"lr": 0.1}), ("SGD", {"lr": 0.05, "momentum": 0.9}),
                 ("Adam", {"lr": 0.01, "betas": (0.8, 0.95)})],
    "ag_extras": [("AdamW", {"lr": 0.01, "weight_decay": 0.3})],
}
ERROR_CASES = {  # case -> (exception types accepted, texts the message must contain, call that must work first)
    "add (2, 3) + (4, 5)": (("ValueError",), ("(2, 3)", "(4, 5)"), "ag_arithmetic/0/value"),
    "matmul (2, 3) @ (4, 5)": (("ValueError",), ("(2, 3)", "(4, 5)"), "ag_matmul_pow/0/value"),
    "backward of a (2, 3) tensor without grad": (("RuntimeError", "ValueError"), ("(2, 3)",), "twice"),
}


def _make(rng, shape, kind):
    x = rng.standard_normal(shape)
    if kind == "positive":
        return np.abs(x) + 0.5
    if kind == "away_from_zero":  # relu's derivative at exactly 0 is a convention
        return x + np.where(x >= 0, 0.05, -0.05)
    return x


def _inputs() -> dict:
    rng = np.random.default_rng(SEED)
    ops = {}
    for row, cases in OP_ROWS.items():
        for i, (name, shapes, kind) in enumerate(cases):
            arrays = [_make(rng, s, kind) for s in shapes]
            out_shape = np.shape(procedures.op_value(_ref().tensor, name, arrays))
            ops[f"{row}/{i}"] = {"name": name, "arrays": arrays, "grad_out": rng.standard_normal(out_shape)}

    def lin(d_in, d_out):
        return [rng.standard_normal((d_in, d_out)) / np.sqrt(d_in), rng.standard_normal(d_out)]

    opt_starts = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    return {
        "ops": ops,
        "twice": rng.standard_normal((2, 3)),
        "chain": rng.standard_normal(3),
        "no_grad": rng.standard_normal(3),
        "linear": {"w": rng.standard_normal((4, 3)), "b": rng.standard_normal(3), "x": rng.standard_normal((5, 4)),
                   "grad_out": rng.standard_normal((5, 3))},
        "mlp": {"weights": [lin(6, 8), lin(8, 7), lin(7, 5), lin(5, 4)], "x": rng.standard_normal((9, 6)),
                "labels": rng.integers(0, 4, size=9).astype(np.int64)},
        "gelu": {"x": 2.0 * rng.standard_normal((4, 5)), "grad_out": rng.standard_normal((4, 5))},
        "smoothing": {"logits": rng.standard_normal((6, 4)), "labels": rng.integers(0, 4, size=6).astype(np.int64),
                      "smoothing": 0.2},
        "optim": {"starts": opt_starts,
                  "grads": [[rng.standard_normal(s.shape) for s in opt_starts] for _ in range(5)]},
    }


def _ref():
    return autograd_reference.load()


def _calls(inp: dict) -> List[Call]:
    frameworks = list(RULE.forbidden)
    calls = [Call(f"frameworks/{m}", m, "section1_procedures.loaded_frameworks", args=(frameworks,))
             for m in ("tensor", "nn", "optim")]
    for key, c in inp["ops"].items():
        calls.append(Call(f"{key}/value", "tensor", f"{PROCEDURES}.op_value", args=(c["name"], c["arrays"])))
        calls.append(Call(f"{key}/grads", "tensor", f"{PROCEDURES}.op_grads",
                          args=(c["name"], c["arrays"], c["grad_out"])))
    calls.append(Call("twice", "tensor", f"{PROCEDURES}.backward_twice", args=(inp["twice"],)))
    calls.append(Call("no_grad", "tensor", f"{PROCEDURES}.no_grad_and_detach", args=(inp["no_grad"],)))
    for case in ERROR_CASES:
        calls.append(Call(f"error/{case}", "tensor", f"{PROCEDURES}.error_message", args=(case,)))
    c = inp["linear"]
    calls.append(Call("linear", "nn", f"{PROCEDURES}.linear", args=(c["w"], c["b"], c["x"], c["grad_out"])))
    c = inp["mlp"]
    calls.append(Call("mlp", "nn", f"{PROCEDURES}.mlp", args=(c["weights"], c["x"], c["labels"])))
    c = inp["gelu"]
    calls.append(Call("gelu", "nn", f"{PROCEDURES}.gelu", args=(c["x"], c["grad_out"])))
    c = inp["smoothing"]
    calls.append(Call("smoothing", "nn", f"{PROCEDURES}.label_smoothing",
                      args=(c["logits"], c["labels"], c["smoothing"])))
    for row, cases in OPTIMIZERS.items():
        for i, (name, kwargs) in enumerate(cases):
            calls.append(Call(f"{row}/opt/{i}", "optim", f"{PROCEDURES}.optimizer_steps",
                              args=(name, kwargs, inp["optim"]["starts"], inp["optim"]["grads"])))
    # last: the two that may run long on a recursive or per-path backward (a timeout only costs what follows)
    calls.append(Call("chain", "tensor", f"{PROCEDURES}.deep_chain", args=(inp["chain"], DEEP_CHAIN_STEPS)))
    calls.append(Call("diamond", "tensor", f"{PROCEDURES}.diamond", args=(DIAMOND_LEVELS,)))
    return calls


def numpy_only_problem(submission_dir: Path, outcomes: Optional[Dict] = None,
                       calls: Optional[List[Call]] = None) -> Optional[str]:
    for submitted in FILES:
        static = numpy_only.forbidden_imports(Path(submission_dir) / submitted, RULE)
        if static:
            return RULE.broken(f"{submitted} imports {', '.join(static)}")
    for module in ("tensor", "nn", "optim"):
        outcome = (outcomes or {}).get(f"frameworks/{module}")
        if outcome is not None and outcome.status == "ok" and outcome.value:
            return RULE.broken(f"autograd_{module}.py (or a file it imports) loads {', '.join(map(str, outcome.value))}")
    # a framework imported at run time (a built name, inside a function): the harness's import watch saw it
    first = next((c for c in calls or () if (outcomes or {}).get(c.id) is not None and outcomes[c.id].loaded), None)
    if first is None:
        return None
    return numpy_only.loaded_problem(RULE, f"autograd_{first.module}.py", [first], outcomes, submission_dir)


class TestAutograd(GradedTestCase):
    """The autograd framework: each op's value and gradients, the graph rules, nn and optim, vs the reference."""


    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ref = _ref()
        cls.inp = _inputs()
        submission = cls.grading_session().submission_dir
        cls.problem = numpy_only_problem(submission)
        cls.out = {}
        if cls.problem:
            return
        calls = _calls(cls.inp)
        cls.out = numpy_only.mark_loaded(RULE, calls, cls.run_student(calls, limits="calls", watch=RULE.forbidden))
        cls.problem = numpy_only_problem(submission, cls.out, calls)

    def _start(self, set_score):
        if self.problem:
            set_score(0.0)
            self.fail_with(self.problem)

    # -- helpers -----------------------------------------------------------------------------------------------

    def _check_ops(self, checks: Checks, row: str) -> None:
        t = self.ref.tensor
        for i, _ in enumerate(OP_ROWS[row]):
            key = f"{row}/{i}"
            c = self.inp["ops"][key]
            name, arrays = c["name"], c["arrays"]
            shapes = ", ".join(str(a.shape) for a in arrays)
            label = f"{name} on {shapes}"
            desc = inputs_text(**{f"input{j}": a for j, a in enumerate(arrays)})
            value = self.out[f"{key}/value"]
            problem = outcome_problem(value, name)
            if not problem:
                p = compare_array(procedures.op_value(t, name, arrays), value.value)
                problem = p and f"value wrong for {desc}: {p}"
            checks.add(f"{label} value", 0.5, problem and f"{name}: {problem}.")
            grads = self.out[f"{key}/grads"]
            expected = procedures.op_grads(t, name, arrays, c["grad_out"])
            problem = outcome_problem(grads, name)
            if not problem and (not isinstance(grads.value, (list, tuple)) or len(grads.value) != len(arrays)):
                problem = "the gradients did not come back (one per input)"
            if problem:
                checks.add(f"{label} gradients", 0.5, f"{name}: backward {problem} (for {desc})." if "not attempted"
                           not in problem else f"{name}: {problem}.")
                continue
            for j, (exp, got) in enumerate(zip(expected, grads.value)):
                if got is None:
                    p = "grad is None (backward did not reach this input)"
                else:
                    p = compare_array(exp, got)
                checks.add(f"{label} grad of input{j}", 0.5 / len(arrays),
                           p and f"{name}: gradient of input{j} {arrays[j].shape} wrong for {desc} "
                                 f"(output grad {c['grad_out'].shape}): {p}.")

    def _compare_list(self, checks, label, weight, outcome, subject, expected, names):
        """One sub-check per named item of a returned list, sharing ``weight``."""
        problem = outcome_problem(outcome, subject)
        value = None if problem else outcome.value
        if not problem and (not isinstance(value, (list, tuple)) or len(value) < len(names)):
            problem = f"returned {type(value).__name__} instead of a list of {len(names)}"
        if problem:
            checks.add(label, weight, f"{subject}: {problem}.")
            return
        for name, exp, got in zip(names, expected, value):
            if got is None:
                p = "None (no gradient reached it)"
            elif np.ndim(exp) == 0:
                p = compare_scalar(float(exp), got)
            else:
                p = compare_array(exp, got)
            checks.add(f"{label}: {name}", weight / len(names), p and f"{subject}: {name} wrong: {p}.")

    def _check_optimizers(self, checks, row):
        starts, grads = self.inp["optim"]["starts"], self.inp["optim"]["grads"]
        for i, (name, kwargs) in enumerate(OPTIMIZERS[row]):
            desc = f"{name}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
            outcome = self.out[f"{row}/opt/{i}"]
            problem = outcome_problem(outcome, name)
            if problem:
                checks.add(desc, 1, f"{desc}: {problem}.")
                continue
            expected = procedures.optimizer_steps(self.ref.optim, name, kwargs, starts, grads)
            found = None
            try:
                for step, (exp_step, got_step) in enumerate(zip(expected, outcome.value)):
                    for j, (exp, got) in enumerate(zip(exp_step, got_step)):
                        p = compare_array(exp, got)
                        if p:
                            found = (f"{desc}: parameter {j} {exp.shape} wrong after step {step + 1} (given "
                                     f"gradients, parameters of shapes (3, 2) and (2,)): {p}.")
                            raise StopIteration
                if len(outcome.value) != len(expected):
                    found = f"{desc}: {len(outcome.value)} steps came back instead of {len(expected)}."
            except StopIteration:
                pass
            except TypeError:
                found = f"{desc}: the parameters' values could not be read after step()."
            checks.add(desc, 1, found)

    # -- tests -------------------------------------------------------------------------------------------------

    @graded("ag_arithmetic")
    def test_arithmetic(self, set_score=None):
        self._start(set_score)
        checks = Checks("autograd arithmetic")
        self._check_ops(checks, "ag_arithmetic")
        if any(i.problem and "grad of input" in i.label and "shape" in i.problem for i in checks.items):
            checks.note("A gradient of the wrong shape after broadcasting: sum it back to the input's shape "
                        "(unbroadcast) over the axes broadcasting added or stretched.")
        finish(self, checks, set_score, "ag_arithmetic")

    @graded("ag_matmul_pow")
    def test_matmul_pow(self, set_score=None):
        self._start(set_score)
        checks = Checks("autograd @ and **")
        self._check_ops(checks, "ag_matmul_pow")
        finish(self, checks, set_score, "ag_matmul_pow")

    @graded("ag_shapes")
    def test_shapes(self, set_score=None):
        self._start(set_score)
        checks = Checks("autograd sum/mean/reshape/transpose/indexing")
        self._check_ops(checks, "ag_shapes")
        finish(self, checks, set_score, "ag_shapes")

    @graded("ag_functions")
    def test_functions(self, set_score=None):
        self._start(set_score)
        checks = Checks("autograd functions")
        self._check_ops(checks, "ag_functions")
        finish(self, checks, set_score, "ag_functions")

    @graded("ag_graph")
    def test_graph(self, set_score=None):
        self._start(set_score)
        checks = Checks("autograd backward")
        self._check_ops(checks, "ag_graph")
        t = self.ref.tensor
        # backward twice without zero_grad adds up
        outcome = self.out["twice"]
        problem = outcome_problem(outcome, "backward")
        if not problem:
            p = compare_array(procedures.backward_twice(t, self.inp["twice"]), outcome.value)
            problem = p and (f"x.grad after two calls of (x * 3).sum().backward() on x {self.inp['twice'].shape}: {p} "
                             "(the second backward must add to x.grad, as in PyTorch)")
        checks.add("backward twice accumulates", 1, problem and f"backward: {problem}.")
        # deep chain: iterative topological order
        outcome = self.out["chain"]
        problem = outcome_problem(outcome, "backward")
        if not problem:
            p = compare_array(procedures.deep_chain(t, self.inp["chain"], DEEP_CHAIN_STEPS), outcome.value)
            problem = p and f"x.grad wrong: {p}"
        elif "RecursionError" in problem or "recursion" in problem:
            problem += " (build the topological order with a loop and your own stack, not recursion)"
        checks.add(f"a chain of {2 * DEEP_CHAIN_STEPS} nodes", 1,
                   problem and f"backward on a chain of {2 * DEEP_CHAIN_STEPS} nodes: {problem}.")
        # diamond: each node once
        outcome = self.out["diamond"]
        problem = outcome_problem(outcome, "backward")
        if not problem:
            p = compare_array(procedures.diamond(t, DIAMOND_LEVELS), outcome.value)
            problem = p and f"x.grad wrong: {p}"
        elif outcome.status == "timeout":
            problem += " (visit each node once, in topological order, instead of once per path)"
        checks.add("each node once", 1, problem and
                   f"backward on w = w * 0.5 + w * 0.5 repeated {DIAMOND_LEVELS} times: {problem}.")
        # no_grad and detach
        outcome = self.out["no_grad"]
        problem = outcome_problem(outcome, "no_grad")
        if not problem:
            got = list(outcome.value) if isinstance(outcome.value, (list, tuple)) else []
            want = procedures.no_grad_and_detach(t, self.inp["no_grad"])
            if got != want:
                names = ["x * 2 under no_grad() has requires_grad", "x.detach() has requires_grad",
                         "x * 2 after the no_grad block has requires_grad", "x unchanged by writing into x.detach()"]
                bad = [f"{n} {g} (expected {w})" for n, g, w in zip(names, got, want) if g != w] or ["bad result"]
                problem = "; ".join(bad)
        checks.add("no_grad and detach", 1, problem and f"no_grad/detach: {problem}.")
        # errors
        for case, (types, texts, first) in ERROR_CASES.items():
            outcome = self.out[f"error/{case}"]
            problem = outcome_problem(outcome, "error")
            if self.out[first].status != "ok":  # the kit's given checks raise these: credit once the op itself runs
                problem = outcome_problem(self.out[first], "error") or "checked once the op itself works"
            elif not problem:
                kind, message = (list(outcome.value) + ["", ""])[:2] if isinstance(outcome.value, list) else ("", "")
                if not kind:
                    problem = "no error raised"
                elif kind not in types:
                    problem = f"raised {kind} (expected {' or '.join(types)}): {message}"
                elif not all(text in message for text in texts):
                    problem = f"the message {message!r} does not name the shape(s) {', '.join(texts)}"
            checks.add(f"error: {case}", 0.5, problem and f"{case}: {problem}.")
        finish(self, checks, set_score, "ag_graph")

    @graded("ag_nn")
    def test_nn(self, set_score=None):
        self._start(set_score)
        checks = Checks("autograd nn")
        nn = self.ref.nn
        c = self.inp["linear"]
        expected = procedures.linear(nn, c["w"], c["b"], c["x"], c["grad_out"])
        names = ["out", "x.grad", "weight.grad", "bias.grad"]
        label = f"Linear(4, 3) on x {c['x'].shape}"
        self._compare_list(checks, label, 2, self.out["linear"], "Linear", expected[:4], names)
        outcome = self.out["linear"]
        if outcome.status == "ok" and isinstance(outcome.value, list) and len(outcome.value) == 5:
            shapes = [tuple(s) for s in outcome.value[4]] if isinstance(outcome.value[4], list) else None
            want = [tuple(s) for s in expected[4]]
            checks.add("Linear.parameters()", 0.5, None if shapes == want else
                       f"Linear: parameters() gives shapes {shapes} instead of {want} (weight, then bias).")
        else:
            checks.add("Linear.parameters()", 0.5, f"Linear: {outcome_problem(outcome, 'Linear') or 'bad result'}.")
        c = self.inp["mlp"]
        expected = procedures.mlp(nn, c["weights"], c["x"], c["labels"])
        outcome = self.out["mlp"]
        problem = outcome_problem(outcome, "Sequential")
        desc = "Sequential(Linear(6, 8), ReLU, Linear(8, 7), Tanh, Linear(7, 5), Sigmoid, Linear(5, 4))"
        if problem:
            checks.add("Sequential", 2.5, f"{desc}: {problem}.")
        elif not isinstance(outcome.value, list) or len(outcome.value) != 3:
            checks.add("Sequential", 2.5, f"{desc}: bad result.")
        else:
            loss, grads, cleared = outcome.value
            checks.add("Sequential loss", 1, compare_scalar(float(expected[0]), loss) and
                       f"{desc}: cross-entropy loss on x {c['x'].shape}: {compare_scalar(float(expected[0]), loss)}.")
            grads = list(grads) if isinstance(grads, (list, tuple)) else []
            if len(grads) != len(expected[1]):
                checks.add("Sequential parameters()", 1, f"{desc}: parameters() gives {len(grads)} tensors instead "
                                                         f"of {len(expected[1])} (each Linear's weight and bias).")
            else:
                bad = []
                for j, (exp, got) in enumerate(zip(expected[1], grads)):
                    p = "None" if got is None else compare_array(exp, got)
                    if p:
                        bad.append(f"parameter {j} {exp.shape}: {p}")
                checks.add("Sequential gradients", 1, bad and f"{desc}: gradients wrong: {bad[0]}.")
            checks.add("zero_grad", 0.5, None if cleared else f"{desc}: zero_grad() left gradients in place.")
        finish(self, checks, set_score, "ag_nn")

    @graded("ag_optim")
    def test_optim(self, set_score=None):
        self._start(set_score)
        checks = Checks("autograd optim")
        self._check_optimizers(checks, "ag_optim")
        finish(self, checks, set_score, "ag_optim")

    @graded("ag_extras")
    def test_extras(self, set_score=None):
        self._start(set_score)
        checks = Checks("autograd extras")
        nn = self.ref.nn
        c = self.inp["gelu"]
        self._compare_list(checks, f"GELU on x {c['x'].shape}", 1, self.out["gelu"], "GELU",
                           procedures.gelu(nn, c["x"], c["grad_out"]), ["out", "x.grad"])
        c = self.inp["smoothing"]
        self._compare_list(checks, f"LabelSmoothingCrossEntropy({c['smoothing']}) on logits {c['logits'].shape}", 1,
                           self.out["smoothing"], "LabelSmoothingCrossEntropy",
                           procedures.label_smoothing(nn, c["logits"], c["labels"], c["smoothing"]),
                           ["loss", "logits.grad"])
        self._check_optimizers(checks, "ag_extras")
        finish(self, checks, set_score, "ag_extras")


# ---- the student's own tests, graded by the chaffs they catch (rubric 10.9) --------------------------------------

TEST_FILE = "test_autograd.py"
ORDER_SEED = 80_417  # mixed with the grading's secret seed: the order of the framework runs changes every grading
REFERENCE_RUNS = 2  # the reference runs at this many random positions among the buggy frameworks
FRAMEWORK_KEY = "fw"  # every framework's compiled files are fw_tensor.pyc, ...: no name tells them apart
STARTER_TESTS = {"test_add_example"}


def static_test_names(path: Path) -> Optional[List[str]]:
    """The top-level ``def test_...`` names of the student's test file (None when it is missing or does not parse).
    Only these names count: a name made up at run time cannot carry anything back."""
    import ast
    if not path.is_file() or path.is_symlink():
        return None
    try:
        tree = ast.parse(path.read_text(errors="replace"))
    except (SyntaxError, ValueError):
        return None
    return [node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")]


_compiled_cache: Dict[str, Dict[str, bytes]] = {}


def framework_files(name: str) -> Dict[str, bytes]:
    """{workspace file name: bytes}: framework ``name`` ("reference" or a chaff) compiled to ``fw_<module>.pyc``
    (no source; the file name inside each is just ``tensor.py``, ...), the same names for every framework."""
    import py_compile
    import tempfile
    from autograder.grading import autograd_chaffs as chaffs
    if name not in _compiled_cache:
        sources = chaffs.reference_sources() if name == "reference" else chaffs.framework_sources(name)
        files = {}
        with tempfile.TemporaryDirectory() as tmp:
            for module, text in sources.items():
                src = Path(tmp) / f"{module}.py"
                src.write_text(text)
                pyc = py_compile.compile(str(src), cfile=str(Path(tmp) / f"{module}.pyc"), dfile=f"{module}.py",
                                         doraise=True,
                                         invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
                files[f"{FRAMEWORK_KEY}_{module}.pyc"] = Path(pyc).read_bytes()
        _compiled_cache[name] = files
    return dict(_compiled_cache[name])


def blind_order(rng: np.random.Generator) -> List[str]:
    """The framework runs in the order they happen: every chaff once and the reference REFERENCE_RUNS times, shuffled
    by ``rng`` (the grading's secret seed), so no position, count or earlier run tells the reference apart."""
    from autograder.grading import autograd_chaffs as chaffs
    names = list(chaffs.CHAFFS) + ["reference"] * REFERENCE_RUNS
    return [names[i] for i in rng.permutation(len(names))]


class TestAutogradTests(GradedTestCase):
    """The student's test_autograd.py, graded blind: each framework (the reference and every buggy one) runs the
    tests in a fresh sandbox process under the same file names, in an order drawn from the grading's secret seed,
    the reference at several positions. The tests must pass on every reference run; a buggy framework counts as
    caught when a test fails or errors on it (a run that times out or crashes counts only because every test
    finished on the reference runs)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.test_path = Path(cls.grading_session().submission_dir) / TEST_FILE
        cls.names = static_test_names(cls.test_path)
        cls.runs: List[tuple] = []  # (framework name, Outcome) in the order they ran
        cls.forbidden = numpy_only.forbidden_imports(cls.test_path, RULE)
        if not cls.names or set(cls.names) <= STARTER_TESTS or cls.forbidden:
            return
        test_file = cls.test_path.read_bytes()
        for name in blind_order(cls.grading_session().rng(ORDER_SEED)):
            files = {TEST_FILE: test_file, **framework_files(name)}
            out = cls.run_student([Call("tests", None, f"{PROCEDURES}.run_tests", args=(FRAMEWORK_KEY,))],
                                  limits="tests", files=files)
            cls.runs.append((name, out["tests"]))

    @classmethod
    def tearDownClass(cls):
        cls.runs = []
        super().tearDownClass()

    def _results(self, outcome) -> tuple:
        """(problem or None, {static test name: passed}) of one framework run."""
        problem = outcome_problem(outcome, "your tests")
        if problem:
            return problem, {}
        value = outcome.value if isinstance(outcome.value, dict) else {}
        if not value.get("available"):
            return "could not be run (the framework did not load)", {}
        reported = value.get("tests") if isinstance(value.get("tests"), dict) else {}
        results = {}
        for name in self.names:
            runs = [bool(v) for k, v in reported.items() if k == name or k.startswith(name + "[")]
            results[name] = bool(runs) and all(runs)
        if value.get("collect_errors"):
            return f"{TEST_FILE} could not be collected by pytest (an error while importing it)", results
        return None, results

    @graded("ag_student_tests")
    def test_student_tests(self, set_score=None):
        checks = Checks("your autograd tests")
        if self.names is None:
            checks.fail("tests", 1, f"not attempted ({TEST_FILE} missing or not valid Python)")
            finish(self, checks, set_score, "ag_student_tests")
        if not self.names or set(self.names) <= STARTER_TESTS:
            checks.fail("tests", 1, f"not attempted (no test of your own in {TEST_FILE}: only the given example)")
            finish(self, checks, set_score, "ag_student_tests")
        if self.forbidden:
            checks.fail("tests", 1, f"{TEST_FILE} imports {', '.join(self.forbidden)}: the tests must use numpy only "
                                    "(compare with values you compute with numpy, or with central differences)")
            finish(self, checks, set_score, "ag_student_tests")
        from autograder.grading import autograd_chaffs as chaffs
        failing, problem = [], None
        for name, outcome in self.runs:
            if name == "reference":
                run_problem, results = self._results(outcome)
                problem = problem or run_problem
                failing += [n for n, ok in results.items() if not ok and n not in failing]
        if problem or failing:
            detail = problem or (f"{len(failing)} of your tests fail on a correct framework: {', '.join(failing[:8])}"
                                 f"{' ...' if len(failing) > 8 else ''}")
            checks.fail("correct framework", 1, f"{detail}. Every test must pass on a correct framework (it ran "
                                                f"{REFERENCE_RUNS} times, each in a fresh process, among the buggy "
                                                "ones) before buggy ones can be told apart: no credit for the buggy "
                                                "frameworks caught until then")
            finish(self, checks, set_score, "ag_student_tests")
        missed = []
        for name, outcome in self.runs:
            if name == "reference":
                continue
            problem, results = self._results(outcome)
            unavailable = problem is not None and problem.startswith("could not be run")
            # every reference run finished every test, so a timeout or crash here is this framework's doing
            caught = not unavailable and (problem is not None or not all(results.values()))
            description = chaffs.CHAFFS[name][0]
            checks.add(f"caught: {description}", 1, None if caught else
                       f"your tests: not caught: a framework where {description}"
                       f"{' (the framework did not load)' if unavailable else ''}.")
            if not caught:
                missed.append(name)
        if missed:
            checks.note(f"Your {len(self.names)} tests pass on a correct framework and catch "
                        f"{len(chaffs.CHAFFS) - len(missed)} of {len(chaffs.CHAFFS)} buggy ones: add tests that "
                        "fail on the bugs above.")
        finish(self, checks, set_score, "ag_student_tests")
