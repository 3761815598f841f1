"""Solution markers (autograder/build/markers.py): stubs, prompts, notebooks, and every malformed case."""
from __future__ import annotations

import os
import textwrap

import nbformat
import pytest

from autograder.build.markers import MarkerError, build_student_tree, strip_notebook, strip_python


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


GOOD = src('''
    import numpy as np


    def relu_forward(x):
        """ReLU. x: array of any shape."""
        out = None
        # BEGIN SOLUTION
        out = np.maximum(x, 0)
        # END SOLUTION
        cache = x
        return out, cache


    class TwoLayerNet:
        def forward(self, X):
            if X is not None:
                # BEGIN SOLUTION
                hidden = X @ self.w1
                return hidden
                # END SOLUTION


    # BEGIN SOLUTION network
    MODEL = TwoLayerNet()
    # END SOLUTION
''')

GOOD_STUDENT = src('''
    import numpy as np


    def relu_forward(x):
        """ReLU. x: array of any shape."""
        out = None
        # TODO: implement relu_forward.
        raise NotImplementedError("relu_forward: not implemented yet")
        cache = x
        return out, cache


    class TwoLayerNet:
        def forward(self, X):
            if X is not None:
                # TODO: implement TwoLayerNet.forward.
                raise NotImplementedError("TwoLayerNet.forward: not implemented yet")


    # TODO: implement network.
    raise NotImplementedError("network: not implemented yet")
''')


def test_good_file_strips_to_expected_stub():
    out = strip_python(GOOD, "layers.py")
    assert out == GOOD_STUDENT
    compile(out, "layers.py", "exec")
    for solution_line in ("np.maximum(x, 0)", "hidden = X @ self.w1", "MODEL = TwoLayerNet()"):
        assert solution_line not in out


def test_stub_raises_not_implemented_naming_the_function():
    namespace: dict = {}
    exec(compile(strip_python(GOOD.split("class TwoLayerNet")[0], "m.py"), "m.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="relu_forward: not implemented yet"):
        namespace["relu_forward"](1.0)


def test_file_without_markers_is_unchanged():
    text = "def f(x):\n    return x  # nothing to strip\n"
    assert strip_python(text, "plain.py") == text


def test_region_at_end_of_body_belongs_to_the_function():
    text = src('''
        def f(x):
            """Doc."""
            # BEGIN SOLUTION
            return x
            # END SOLUTION


        def g():
            return 1
    ''')
    out = strip_python(text, "m.py")
    assert 'raise NotImplementedError("f: not implemented yet")' in out
    assert "return x" not in out
    assert "def g():\n    return 1\n" in out


def test_nested_function_qualname():
    text = src('''
        class A:
            class B:
                def m(self):
                    def inner():
                        # BEGIN SOLUTION
                        return 1
                        # END SOLUTION
                    return inner
    ''')
    assert '"A.B.m.inner: not implemented yet"' in strip_python(text, "m.py")


def test_prompt_block_replaces_the_stub():
    text = src('''
        def main():
            # BEGIN SOLUTION
            hidden_dim = 512
            learning_rate = 1e-3
            num_epochs = 10
            # END SOLUTION
            # BEGIN PROMPT
            # hidden_dim = 16
            # learning_rate = 1e-4
            #
            # num_epochs = 10
            # END PROMPT
            return hidden_dim, learning_rate, num_epochs
    ''')
    expected = src('''
        def main():
            hidden_dim = 16
            learning_rate = 1e-4

            num_epochs = 10
            return hidden_dim, learning_rate, num_epochs
    ''')
    out = strip_python(text, "train.py")
    assert out == expected
    namespace: dict = {}
    exec(out, namespace)
    assert namespace["main"]() == (16, 1e-4, 10)
    # In the reference the prompt is only comments: the solution values are what runs.
    namespace = {}
    exec(text, namespace)
    assert namespace["main"]() == (512, 1e-3, 10)


def test_crlf_source_strips():
    out = strip_python(GOOD.replace("\n", "\r\n"), "crlf.py")
    assert out == GOOD_STUDENT.replace("\n", "\r\n")


# (case id, source, line the error must name, a word the reason must contain)
MALFORMED = [
    ("nested", "def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    x = 1\n    # END SOLUTION\n", 3, "nested"),
    ("unclosed", "def f():\n    x = 0\n    # BEGIN SOLUTION\n    x = 1\n", 3, "unclosed"),
    ("end without begin", "def f():\n    x = 1\n    # END SOLUTION\n", 3, "without"),
    ("prompt without region", "def f():\n    x = 1\n    # BEGIN PROMPT\n    # x = 2\n    # END PROMPT\n", 3,
     "without"),
    ("prompt not right after region",
     "def f():\n    # BEGIN SOLUTION\n    x = 1\n    # END SOLUTION\n    y = 2\n    # BEGIN PROMPT\n"
     "    # x = 2\n    # END PROMPT\n", 6, "without"),
    ("end prompt alone", "def f():\n    x = 1\n    # END PROMPT\n", 3, "without"),
    ("unclosed prompt",
     "def f():\n    # BEGIN SOLUTION\n    x = 1\n    # END SOLUTION\n    # BEGIN PROMPT\n    # x = 2\n", 5,
     "unclosed"),
    ("prompt line is code",
     "def f():\n    # BEGIN SOLUTION\n    x = 1\n    # END SOLUTION\n    # BEGIN PROMPT\n    x = 2\n"
     "    # END PROMPT\n    return x\n", 6, "comment"),
    ("unnamed module-level region", "import os\n# BEGIN SOLUTION\nX = 1\n# END SOLUTION\n", 2, "name"),
    ("unnamed region in module-level if", "if True:\n    # BEGIN SOLUTION\n    X = 1\n    # END SOLUTION\n", 2,
     "name"),
    ("no space", "def f():\n    #BEGIN SOLUTION\n    x = 1\n    # END SOLUTION\n", 2, "form"),
    ("triple hash", "def f():\n    ### BEGIN SOLUTION\n    x = 1\n    # END SOLUTION\n", 2, "form"),
    ("lower case", "def f():\n    # begin solution\n    x = 1\n    # end solution\n", 2, "form"),
    ("underscore", "def f():\n    # BEGIN_SOLUTION\n    x = 1\n    # END_SOLUTION\n", 2, "form"),
    ("words after marker", "def f():\n    # BEGIN SOLUTION here it is\n    x = 1\n    # END SOLUTION\n", 2,
     "form"),
    ("name on end marker", "def f():\n    # BEGIN SOLUTION\n    x = 1\n    # END SOLUTION f\n", 4, "name"),
    ("marker after code", "def f():\n    x = 0  # BEGIN SOLUTION\n    x = 1\n    # END SOLUTION\n", 2, "form"),
    ("marker in a string", 'def f():\n    s = "# BEGIN SOLUTION"\n    return s\n', 2, "form"),
    ("marker line in a triple-quoted string",
     'def f():\n    s = """\n# BEGIN SOLUTION\n"""\n    return s\n', 3, "string"),
    ("marker in a docstring", 'def f():\n    """Use END SOLUTION here."""\n    return 1\n', 2, "form"),
    ("region leaves an empty body", "def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n"
     "    # BEGIN PROMPT\n    # END PROMPT\n", 1, "valid Python"),
    ("reference not Python", "def f(:\n    pass\n", 1, "valid Python"),
]


@pytest.mark.parametrize("case, text, line, word", MALFORMED, ids=[case[0] for case in MALFORMED])
def test_malformed_raises_naming_file_and_line(case, text, line, word):
    with pytest.raises(MarkerError) as info:
        strip_python(text, "kit/neuralnet/layers.py")
    error = info.value
    assert error.filename == "kit/neuralnet/layers.py"
    assert error.line == line, str(error)
    assert word.lower() in error.reason.lower(), str(error)
    assert f"kit/neuralnet/layers.py, line {line}:" in str(error)


def test_ordinary_words_are_not_markers():
    text = "def extend_solution(append_prompt):\n    # we extend solutions and append prompts\n    return 1\n"
    assert strip_python(text, "m.py") == text


def _notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    md = nbformat.v4.new_markdown_cell("# Part 1\nDefine the network.")
    setup = nbformat.v4.new_code_cell("%matplotlib inline\nimport torch\n!echo hello")
    network = nbformat.v4.new_code_cell(
        "# BEGIN SOLUTION network\nmodel = torch.nn.Linear(784, 10)\n# END SOLUTION\nprint(model)")
    hyper = nbformat.v4.new_code_cell(
        "# BEGIN SOLUTION hyperparameters\nepochs = 8\n# END SOLUTION\n# BEGIN PROMPT\n# epochs = 1\n# END PROMPT")
    network.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Linear(...)\n")]
    network.execution_count = 3
    network.metadata["tags"] = ["student"]
    nb.cells = [md, setup, network, hyper]
    return nb


def test_notebook_cells_stripped_outputs_cleared_metadata_kept():
    nb = _notebook()
    out = strip_notebook(nb, "part1.ipynb")
    assert out.cells[0].source == nb.cells[0].source
    assert out.cells[1].source == nb.cells[1].source  # magics and shell lines survive
    assert out.cells[2].source == ("# TODO: implement network.\n"
                                   'raise NotImplementedError("network: not implemented yet")\nprint(model)')
    assert out.cells[2].outputs == [] and out.cells[2].execution_count is None
    assert out.cells[2].metadata["tags"] == ["student"]
    assert out.cells[3].source == "epochs = 1"
    assert out.metadata["kernelspec"]["name"] == "python3"
    nbformat.validate(out)
    # The input is untouched.
    assert nb.cells[2].outputs and "BEGIN SOLUTION" in nb.cells[2].source


def test_notebook_error_names_cell_and_line():
    nb = _notebook()
    nb.cells[3].source = "x = 1\n# BEGIN SOLUTION\nepochs = 8\n"
    with pytest.raises(MarkerError) as info:
        strip_notebook(nb, "part1.ipynb")
    assert (info.value.filename, info.value.cell, info.value.line) == ("part1.ipynb", 3, 2)
    assert "part1.ipynb, cell 3, line 2" in str(info.value)


def test_notebook_marker_in_markdown_is_an_error():
    nb = _notebook()
    nb.cells[0].source = "Write your code between # BEGIN SOLUTION and the end."
    with pytest.raises(MarkerError, match="markdown"):
        strip_notebook(nb, "part1.ipynb")


def test_build_student_tree(tmp_path):
    kit = tmp_path / "kit"
    (kit / "neuralnet" / "__pycache__").mkdir(parents=True)
    (kit / "neuralnet" / "cifar-10-batches-py").mkdir()
    (kit / "neuralnet" / "layers.py").write_text(GOOD)
    (kit / "neuralnet" / "__pycache__" / "layers.cpython-310.pyc").write_bytes(b"\0")
    (kit / "neuralnet" / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"\0")
    (kit / "neuralnet" / "checkpoint.pkl").write_bytes(b"\0")
    (kit / "neuralnet" / "plot.pdf").write_bytes(b"%PDF")
    (kit / "data" / "FashionMNIST").mkdir(parents=True)
    (kit / "data" / "FashionMNIST" / "x.gz").write_bytes(b"\0")
    (kit / "part1_model.pt").write_bytes(b"\0")
    (kit / "part1.png").write_bytes(b"\0")
    script = kit / "neuralnet" / "download_cifar.sh"
    script.write_text("#!/bin/sh\necho download\n")
    os.chmod(script, 0o755)
    (kit / "backprop").mkdir()
    (kit / "backprop" / "backprop-data.pkl").write_bytes(bytes(range(256)))
    nbformat.write(_notebook(), str(kit / "part1.ipynb"))

    dst = tmp_path / "out" / "student"
    written = build_student_tree(kit, dst)
    relative = sorted(p.relative_to(dst).as_posix() for p in written)
    assert relative == ["backprop/backprop-data.pkl", "neuralnet/download_cifar.sh", "neuralnet/layers.py",
                        "part1.ipynb"]
    assert (dst / "neuralnet" / "layers.py").read_text() == GOOD_STUDENT
    assert (dst / "neuralnet" / "download_cifar.sh").stat().st_mode & 0o777 == 0o755
    assert (dst / "backprop" / "backprop-data.pkl").read_bytes() == bytes(range(256))
    student_nb = nbformat.read(str(dst / "part1.ipynb"), as_version=4)
    assert "BEGIN SOLUTION" not in "".join(cell.source for cell in student_nb.cells)

    # A malformed file fails the build and leaves the previous tree in place.
    (kit / "neuralnet" / "bad.py").write_text("def f():\n    # BEGIN SOLUTION\n")
    with pytest.raises(MarkerError, match="neuralnet/bad.py"):
        build_student_tree(kit, dst)
    assert (dst / "neuralnet" / "layers.py").read_text() == GOOD_STUDENT
    assert [p.name for p in dst.parent.iterdir()] == ["student"]  # no staging left behind


def test_marker_text_in_copied_file_is_an_error(tmp_path):
    kit = tmp_path / "kit"
    kit.mkdir()
    (kit / "README.md").write_text("Fill in\nthe part between # BEGIN SOLUTION and # END SOLUTION\n")
    with pytest.raises(MarkerError) as info:
        build_student_tree(kit, tmp_path / "student")
    assert (info.value.filename, info.value.line) == ("README.md", 2)


def test_form_feed_does_not_shift_line_numbers():
    text = "import os\n\x0c\ndef f():\n    x = 0\n    # BEGIN SOLUTION\n    x = 1\n"
    with pytest.raises(MarkerError) as info:
        strip_python(text, "m.py")
    assert info.value.line == 5
    good = "import os\n\x0c\ndef f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n"
    assert strip_python(good, "m.py") == ('import os\n\x0c\ndef f():\n    # TODO: implement f.\n'
                                          '    raise NotImplementedError("f: not implemented yet")\n')


def test_notebook_cell_without_markers_may_use_any_ipython_syntax():
    nb = _notebook()
    nb.cells[1].source = "files = !ls\n%time x = 1"
    assert strip_notebook(nb, "part1.ipynb").cells[1].source == "files = !ls\n%time x = 1"
