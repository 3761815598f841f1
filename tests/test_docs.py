"""The README's generated parts are current, and it opens with the two set-up commands CI runs."""
from __future__ import annotations

import re

from autograder import paths
from autograder.build import texts
from autograder.grading.rubric import markdown_table


def _readme() -> str:
    return (paths.REPO / "README.md").read_text()


def test_generated_texts_are_current():
    """Every text generated from the parts' declarations (README's rubric table, check_submission's PART_FILES, the
    student README's sections, ...) is current."""
    assert texts.stale() == [], "run `python -m autograder build` to regenerate these from the declarations"
    assert markdown_table() in _readme()


def test_sync_rewrites_a_stale_region(tmp_path):
    for relative in texts.files():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text((paths.REPO / relative).read_text())
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text().replace(markdown_table(), "| stale |"))
    assert texts.stale(tmp_path) == ["README.md"]
    assert texts.sync(tmp_path) == ["README.md"] and texts.stale(tmp_path) == []
    assert markdown_table() in readme.read_text()


def test_readme_opens_with_the_two_commands_ci_runs():
    first_block = re.search(r"```bash\n(.*?)```", _readme(), re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["make", "make test"]
    ci = (paths.REPO / ".ci" / "run").read_text()
    assert re.findall(r"^make.*$", ci, re.M) == commands


# --------------------------------------------------------------------------------------------------------------------
# one rubric drives every text

import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import zipfile  # noqa: E402
from pathlib import Path  # noqa: E402

from autograder.grading import rubric  # noqa: E402
from autograder.parts import section1  # noqa: E402

# What students and instructors read, beyond texts.files(): every kit text and the instructors' docs.
READ_TEXTS = ("README.md", "STUDENT-README.md", "docs", "autograder/gradescope/README.md", "autograder/parts",
              "part1.ipynb", "part2.ipynb", "part3.ipynb", "part4.ipynb", "backprop", "neuralnet", "cnnfeatures",
              "smalldata", "autograd", "check_submission.py", "make_submission.py")


def _read_texts(root: Path) -> dict:
    found = {}
    for name in READ_TEXTS:
        path = root / name
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in candidates:
            if file.suffix not in (".md", ".py", ".ipynb", ".tex") or not file.is_file():
                continue
            if file.parent == root / "autograder" / "parts" and file.suffix == ".py":
                continue  # the declarations themselves: where the numbers are set
            text = file.read_text(encoding="utf-8")
            if file.suffix == ".ipynb":  # what a student reads: the markdown cells and the code cells' comments
                text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"])
            found[file.relative_to(root).as_posix()] = text
    return found


def _outside_generated(relative: str, text: str) -> str:
    """The text with every generated part removed (regions, inline spans, generated lines)."""
    text = re.sub(r"<!-- generated: (.*?) -->\n.*?\n<!-- end generated: \1 -->", "", text, flags=re.S)
    text = re.sub(r"^# generated: (\S.*?)\b.*?\n.*?\n# end generated: \1$", "", text, flags=re.S | re.M)
    text = texts.INLINE_PATTERN.sub("", text)
    for (path, prefix) in texts.prefix_lines():
        if path == relative:
            text = re.sub(rf"^{re.escape(prefix)}.*$", "", text, flags=re.M)
    return text


def _rubric_numbers() -> list:
    """(label, regex) for every number a text shows that a declaration holds: thresholds, targets, the time limit."""
    numbers = []
    for item_id, threshold in rubric.THRESHOLDS.items():
        for key in ("full", "partial"):
            numbers.append((f"{item_id}.{key}", rf"(?<![\d.]){threshold[key]:g}(\.0)? ?(%|percent)"))
    numbers.append(("OVERFIT_TRAIN_ACCURACY", rf"(?<![\d.]){section1.OVERFIT_TRAIN_ACCURACY:g}(\.0)? ?(%|percent)"))
    numbers.append(("GRADING_WALL_SECONDS", rf"(?<![\d.]){rubric.GRADING_WALL_SECONDS} ?(s\b|seconds)"))
    return numbers


def test_no_hand_typed_copy_of_a_rubric_number():
    """Every threshold, target and limit of rubric.py that a text shows is generated: none is typed by hand."""
    typed = []
    for relative, text in _read_texts(paths.REPO).items():
        rest = _outside_generated(relative, text)
        for label, pattern in _rubric_numbers():
            for match in re.finditer(pattern, rest):
                line = rest[:match.start()].count("\n") + 1
                typed.append(f"{relative}: {label} typed by hand near line {line}: {match.group(0)!r}")
    assert typed == [], "\n".join(typed)


def _copy_for_sync(tmp: Path) -> Path:
    root = tmp / "repo"
    shutil.copytree(paths.REPO / "autograder", root / "autograder",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for relative in set(texts.files()) | set(_read_texts(paths.REPO)):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        if (paths.REPO / relative).exists():
            shutil.copyfile(paths.REPO / relative, root / relative)
    return root


def _sync_in(root: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", "from autograder.build import texts; print(texts.sync())"],
                          cwd=root, capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(root),
                                                                                      "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]


def _edit(path: Path, changes: dict) -> None:
    source = path.read_text()
    for old, new in changes.items():
        assert source.count(old) == 1, (path.name, old)
        source = source.replace(old, new)
    path.write_text(source)


def test_changing_a_threshold_in_a_declaration_changes_every_text(tmp_path):
    """Edit the declarations in a throwaway copy, sync: every text that showed the old numbers shows the new ones."""
    root = _copy_for_sync(tmp_path)
    before = _read_texts(root)
    old_values = (rubric.THRESHOLDS["checkpoint_accuracy"]["full"], rubric.THRESHOLDS["checkpoint_accuracy"]["partial"],
                  rubric.THRESHOLDS["part1_accuracy"]["full"], rubric.THRESHOLDS["part1_accuracy"]["partial"],
                  section1.OVERFIT_TRAIN_ACCURACY, rubric.GRADING_WALL_SECONDS)
    assert old_values == (40.0, 30.0, 85.0, 70.0, 75.0, 540), "update this test's edits to the declarations' numbers"
    declarations = root / "autograder" / "parts"
    _edit(declarations / "section1.py", {'CHECKPOINT = {"full": 40.0, "partial": 30.0}':
                                         'CHECKPOINT = {"full": 41.5, "partial": 33.5}',
                                         "OVERFIT_TRAIN_ACCURACY = 75.0": "OVERFIT_TRAIN_ACCURACY = 77.5"})
    _edit(declarations / "section2.py", {'PART1_ACCURACY = {"full": 85.0, "partial": 70.0,':
                                         'PART1_ACCURACY = {"full": 87.5, "partial": 72.5,'})
    _edit(root / "autograder" / "grading" / "rubric.py", {"GRADING_WALL_SECONDS = 540": "GRADING_WALL_SECONDS = 543"})
    _sync_in(root)
    after = _read_texts(root)
    pairs = [("40 %", "41.5 %"), ("30 %", "33.5 %"), ("85 %", "87.5 %"), ("70 %", "72.5 %"), ("75 %", "77.5 %"),
             ("540 s", "543 s")]
    shown = {old: [r for r, text in before.items() if old in text] for old, _ in pairs}
    for old, new in pairs:
        assert shown[old], f"no text shows {old}: the test no longer proves anything for it"
        for relative in shown[old]:
            assert old not in after[relative], f"{relative} still shows {old} after the change"
            assert new in after[relative], f"{relative} does not show the new {new}"
    # and the places a student reads it: the student README, the notebook, train.py
    assert "87.5 %" in after["STUDENT-README.md"] and "87.5 %" in after["part1.ipynb"]
    assert ">= 41.5 % validation" in after["neuralnet/train.py"] and "77.5 %" in after["neuralnet/train.py"]


def test_points_per_task_follow_the_declarations(tmp_path):
    root = _copy_for_sync(tmp_path)
    declarations = root / "autograder" / "parts"
    _edit(declarations / "section1.py", {'"fc_backward": Row("2.2", "layers: fc_backward", 6,':
                                         '"fc_backward": Row("2.2", "layers: fc_backward", 9,'})
    _edit(declarations / "section2.py", {'"part1_accuracy": Row("5.2", "part1 exported model: Fashion-MNIST test '
                                         'accuracy", 10,': '"part1_accuracy": Row("5.2", "part1 exported model: '
                                                           'Fashion-MNIST test accuracy", 12,'})
    _sync_in(root)
    student = (root / "STUDENT-README.md").read_text()
    assert "| | 2.2 | layers: fc_backward | 9 |" in student and "| | 5.2 | part1 exported model" in student
    assert f"**{rubric.total_points() + 5:g}**" in student
    assert f"**{rubric.total_points() + 5:g}**" in (root / "README.md").read_text()
    assert "5.2: 12 points" in (root / "part1.ipynb").read_text()
    assert "5.2: 10 points" in (paths.REPO / "part1.ipynb").read_text()


# --------------------------------------------------------------------------------------------------------------------
# "Adding a graded check", tried

def _doc_steps(name: str) -> dict:
    doc = (paths.REPO / "docs" / name).read_text()
    return {m.group(1): m.group(2) for m in re.finditer(r"<!-- step: ([^>\n]*?) -->\n```\w*\n(.*?)```", doc, re.S)}


# The grading core: a recipe that adds a check or a part must not need to touch any of these.
CORE = ("autograder/grading/runner.py", "autograder/grading/sandbox.py", "autograder/grading/session.py",
        "autograder/grading/student_code.py", "autograder/grading/submission.py", "autograder/grading/scoring.py",
        "autograder/grading/rubric.py", "autograder/grading/checks/__init__.py", "autograder/parts/__init__.py",
        "autograder/cli.py", "autograder/build/kits.py", "autograder/build/texts.py",
        "autograder/build/reference_artifacts.py")


def _scratch_copy(tmp_path: Path) -> Path:
    from test_parts import scratch_repository
    return scratch_repository(tmp_path)


def _core_unchanged(root: Path) -> None:
    changed = [name for name in CORE if (root / name).read_bytes() != (paths.REPO / name).read_bytes()]
    assert changed == [], f"the recipe changed the grading core: {changed}"


def _grade(root: Path, tmp_path: Path, name: str, files: dict, command: list) -> tuple:
    """Zip ``files`` (name in the zip -> bytes) flat, grade it with the documented command in ``root``."""
    zip_path = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    out = tmp_path / f"out-{name}"
    args = [sys.executable] + command[1:4] + [str(zip_path)] + command[5:]
    args[args.index("--out") + 1] = str(out)
    proc = subprocess.run(args, cwd=root, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return json.loads((out / "results.json").read_text()), proc.stdout


def test_adding_a_check_walkthrough(tmp_path):
    """Apply docs/adding-a-check.md's steps to a throwaway copy of the repository; the documented command grades the
    new row: full marks for the reference, 0 for the starter; the grading core is untouched."""
    steps = _doc_steps("adding-a-check.md")
    assert set(steps) == {"rubric row", "harness procedure", "call", "method", "command"}
    root = _scratch_copy(tmp_path)
    declaration = root / "autograder" / "parts" / "section1.py"
    text = declaration.read_text()
    anchor = text.index("\n", text.index('needs=("layers.py",)),', text.index('"layers_edge_cases": Row('))) + 1
    declaration.write_text(text[:anchor] + steps["rubric row"] + text[anchor:])
    harness = root / "autograder" / "grading" / "harness" / "section1_procedures.py"
    harness.write_text(harness.read_text() + "\n\n" + steps["harness procedure"])
    module = root / "autograder" / "grading" / "checks" / "section1_layers.py"
    text = module.read_text()
    assert text.count("\n    return calls\n") == 1
    text = text.replace("\n    return calls\n", "\n" + steps["call"] + "    return calls\n")
    module.write_text(text.rstrip("\n") + "\n\n" + steps["method"])
    _sync_in(root)
    assert "`relu_fc_chain`" in (root / "README.md").read_text()  # the regenerated rubric table
    _core_unchanged(root)

    command = steps["command"].strip().split()
    assert command[:4] == [".venv/bin/python", "-m", "autograder", "grade"] and "--modules" in command
    sources = ("backprop/functions.py", "neuralnet/layers.py", "neuralnet/two_layer_net.py", "neuralnet/train.py")
    for name in ("reference", "starter"):
        files = {Path(s).name: (root / s).read_bytes() if name == "reference" else b"" for s in sources}
        results, stdout = _grade(root, tmp_path, name, files, command)
        row = next(t for t in results["tests"] if t["number"] == "2.8")
        assert row["max_score"] == 2
        if name == "reference":
            assert row["score"] == 2, row["output"]
            assert "relu_fc_chain: all checks passed" in row["output"]
        else:
            assert row["score"] == 0
        assert "2.8" in stdout


def test_a_row_number_taken_twice_is_refused_naming_both(tmp_path):
    """Following the recipe with a number that exists already fails at once, naming both rows."""
    root = _scratch_copy(tmp_path)
    declaration = root / "autograder" / "parts" / "section1.py"
    steps = _doc_steps("adding-a-check.md")
    text = declaration.read_text()
    anchor = text.index("\n", text.index('needs=("layers.py",)),', text.index('"layers_edge_cases": Row('))) + 1
    declaration.write_text(text[:anchor] + steps["rubric row"].replace('"2.8"', '"2.7"') + text[anchor:])
    proc = subprocess.run([sys.executable, "-c", "import autograder.parts"], cwd=root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert proc.returncode != 0
    assert ("row number '2.7' is declared by both section1 row 'layers_edge_cases' and section1 row "
            "'relu_fc_chain'") in proc.stderr, proc.stderr[-2000:]


def test_adding_a_part_walkthrough(tmp_path):
    """Apply docs/adding-a-part.md's steps to a throwaway copy: the part's declaration and files only; the texts
    follow, the student kit has the stub, and the documented command grades the new row: full marks for the
    reference, 0 for the starter, less for the mutant; the grading core is untouched."""
    steps = _doc_steps("adding-a-part.md")
    files = {name.rsplit(" ", 1)[1]: text for name, text in steps.items() if " " in name}
    assert set(files) == {"activations/activations.py", "autograder/parts/activations.py",
                          "autograder/parts/activations.md", "autograder/grading/checks/activations_functions.py"}
    root = _scratch_copy(tmp_path)
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    _sync_in(root)
    _core_unchanged(root)
    readme = (root / "STUDENT-README.md").read_text()
    assert "## Activations (`activations/activations.py`)" in readme and "| | 11.1 | activations: sigmoid | 2 |" in readme
    assert "'activations': {" in (root / "check_submission.py").read_text()

    build = subprocess.run([sys.executable, "-c", "from autograder.build import kits; kits.build_student('kit')"],
                           cwd=root, capture_output=True, text=True, timeout=120,
                           env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert build.returncode == 0, build.stderr[-2000:]
    stub = (root / "kit" / "activations" / "activations.py").read_text()
    assert 'raise NotImplementedError("sigmoid: not implemented yet")' in stub and "np.exp(-x)" not in stub

    from mutants.section1 import Mutant
    namespace = {"Mutant": Mutant}
    exec(steps["mutant"], namespace)
    (mutant,) = namespace["MUTANTS"]
    reference = (root / mutant.file).read_text()
    mutated = reference
    for old, new in mutant.edits:
        assert mutated.count(old) == 1, old
        mutated = mutated.replace(old, new)
    command = steps["command"].strip().split("&&")[1].split()
    assert command[:4] == [".venv/bin/python", "-m", "autograder", "grade"] and "--modules" in command
    scores = {}
    for name, text in (("reference", reference), ("starter", stub), ("mutant", mutated)):
        results, _ = _grade(root, tmp_path, name, {"activations.py": text.encode()}, command)
        (row,) = [t for t in results["tests"] if t["number"] == "11.1"]
        scores[name] = row["score"]
    assert scores["reference"] == 2 and scores["starter"] == 0 and scores["mutant"] < 2, scores


def test_bench_only_keeps_other_sections_notes_and_appendix(tmp_path):
    """`python -m bench --only X` rewrites X's rows and notes and keeps everything else of BENCHMARKS.md: the other
    sections' rows and notes, and the hand-written parts after the first `## ` heading."""
    from bench.__main__ import _merge
    from bench.report import Row, write_markdown
    old = tmp_path / "BENCHMARKS.md"
    write_markdown(old, [Row("cifar", "epoch 1", "44 %"), Row("part3", "wall s", "90", "<= 600", True)],
                   ["cifar: batch 200", "part3: old note"], "python -m bench",
                   "## autograd (extra credit)\n\n| section | metric | measured | target | holds |\n"
                   "|---|---|---|---|---|\n| autograd | epoch | 51 s | | |\n")
    rows, notes, appendix = _merge(old, [Row("part3", "wall s", "68", "<= 600", True)], ["part3: new note"])
    assert [(r.section, r.value) for r in rows] == [("cifar", "44 %"), ("part3", "68")]
    assert notes == ["cifar: batch 200", "part3: new note"]
    assert appendix.startswith("## autograd (extra credit)") and "| autograd | epoch | 51 s |" in appendix
    write_markdown(old, rows, notes, "python -m bench --only part3", appendix)
    text = old.read_text()
    assert text.count("## autograd") == 1 and "old note" not in text and "| 68 " in text
