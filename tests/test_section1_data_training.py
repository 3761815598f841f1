"""Section 1 data loading, backprop data file and training (kit/neuralnet/data.py, train.py, test.py,
kit/backprop/backprop-data.pkl)."""
from __future__ import annotations

import importlib.util
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder import eval_data, paths
from autograder.build import section1_backprop_data

NEURALNET = paths.KIT / "neuralnet"


def load_kit_module(name: str):
    """kit/neuralnet/<name>.py under a private module name (data.py and utils.py have no flat imports)."""
    spec = importlib.util.spec_from_file_location(f"_section1_test_{name}", NEURALNET / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


data_module = load_kit_module("data")


# ---------------------------------------------------------------------------------------------------------------
# backprop-data.pkl


def test_backprop_data_regenerates_identically():
    committed = (paths.KIT / "backprop" / "backprop-data.pkl").read_bytes()
    assert section1_backprop_data.data_bytes() == committed, "run: python -m autograder.build.section1_backprop_data"


def test_backprop_data_format():
    with open(paths.KIT / "backprop" / "backprop-data.pkl", "rb") as handle:
        data = pickle.load(handle)
    assert sorted(data) == sorted(["f1", "f2", "f3 (y=1)", "f3 (y=2)"])
    nargs = {"f1": 6, "f2": 1, "f3 (y=1)": 2, "f3 (y=2)": 2}
    for key, entry in data.items():
        assert len(entry["inputs"]) == 100 and len(entry["outputs"]) == 100
        for x in entry["inputs"]:
            assert isinstance(x, tuple) and len(x) == nargs[key] and all(0 <= v < 1 for v in x)
        assert all(isinstance(v, float) for v in entry["outputs"])


# ---------------------------------------------------------------------------------------------------------------
# data.py on a small fake dataset in the real layout


def write_batch(path: Path, num: int, seed: int) -> None:
    rng = np.random.RandomState(seed)
    batch = {b"data": rng.randint(0, 256, size=(num, 3072)).astype(np.uint8),
             b"labels": list(rng.randint(0, 10, size=num)), b"batch_label": b"fake"}
    with open(path, "wb") as handle:
        pickle.dump(batch, handle)


@pytest.fixture
def fake_cifar(tmp_path) -> Path:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i in range(1, 6):
        write_batch(folder / f"data_batch_{i}", 20, i)
    write_batch(folder / "test_batch", 20, 99)
    return folder


@pytest.fixture
def small_pools(monkeypatch):
    """The fake dataset's sizes: 5 x 20 training images, 20 test images."""
    monkeypatch.setattr(data_module, "NUM_TRAIN_POOL", 100)
    monkeypatch.setattr(data_module, "NUM_TEST_POOL", 20)


def test_load_cifar10_shapes_and_split(fake_cifar, small_pools):
    data = data_module.load_cifar10(str(fake_cifar), num_train=70, num_val=30, num_test=15, seed=3)
    assert data["X_train"].shape == (70, 3072) and data["X_val"].shape == (30, 3072)
    assert data["X_test"].shape == (15, 3072)
    for key in ("X_train", "X_val", "X_test"):
        assert data[key].dtype == np.float32 and 0 <= data[key].min() and data[key].max() <= 1
    for key in ("y_train", "y_val", "y_test"):
        assert data[key].dtype == np.int64
    # validation and training images are disjoint and together the whole pool
    rows = {tuple(r) for r in np.concatenate([data["X_train"], data["X_val"]])}
    assert len(rows) == 100
    with open(fake_cifar / "test_batch", "rb") as handle:
        raw = pickle.load(handle)
    np.testing.assert_array_equal(data["X_test"], raw[b"data"][:15].astype(np.float32) / 255)


def test_load_cifar10_missing_folder_points_at_download_script(tmp_path):
    with pytest.raises(FileNotFoundError, match="download_cifar.sh") as info:
        data_module.load_cifar10(str(tmp_path / "nowhere"))
    assert isinstance(info.value, data_module.ScriptError)  # train.py / test.py print it on one line


def test_load_cifar10_truncated_batch_names_the_file(fake_cifar, small_pools):
    path = fake_cifar / "data_batch_3"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ValueError, match="data_batch_3") as info:
        data_module.load_cifar10(str(fake_cifar), num_train=70, num_val=30, num_test=10)
    assert isinstance(info.value, data_module.ScriptError)
    assert f"delete the folder {fake_cifar} and run ./download_cifar.sh again" in str(info.value)


def test_load_cifar10_missing_batch_names_the_file(fake_cifar, small_pools):
    (fake_cifar / "test_batch").unlink()
    with pytest.raises(FileNotFoundError, match="test_batch") as info:
        data_module.load_cifar10(str(fake_cifar), num_train=0, num_val=0, num_test=10)
    assert isinstance(info.value, data_module.ScriptError)
    assert f"delete the folder {fake_cifar} and run ./download_cifar.sh again" in str(info.value)


def write_raw_batch(path: Path, data, labels) -> None:
    with open(path, "wb") as handle:
        pickle.dump({b"data": data, b"labels": labels, b"batch_label": b"fake"}, handle)


BAD_BATCHES = {  # data_batch_4 replaced by: (data, labels) -> the reason in the message
    "too few rows": (lambda rng: (rng.randint(0, 256, (19, 3072)).astype(np.uint8), list(range(9)) * 2 + [0]),
                     "it holds 19 images, expected 20"),
    "too many rows": (lambda rng: (rng.randint(0, 256, (21, 3072)).astype(np.uint8), [0] * 21),
                      "it holds 21 images, expected 20"),
    "wrong width": (lambda rng: (rng.randint(0, 256, (20, 1024)).astype(np.uint8), [0] * 20),
                    "its images have shape (20, 1024), expected (n, 3072)"),
    "3-d images": (lambda rng: (rng.randint(0, 256, (20, 3, 1024)).astype(np.uint8), [0] * 20),
                   "its images have shape (20, 3, 1024)"),
    "float pixels": (lambda rng: (rng.rand(20, 3072), [0] * 20), "its images are float64"),
    "pixels above 255": (lambda rng: (np.full((20, 3072), 300), [0] * 20), "its images are int64"),
    "too few labels": (lambda rng: (rng.randint(0, 256, (20, 3072)).astype(np.uint8), [0] * 19),
                       "labels of shape (19,) for 20 images"),
    "label out of range": (lambda rng: (rng.randint(0, 256, (20, 3072)).astype(np.uint8), [10] * 20),
                           "its labels are not integers in [0, 10)"),
    "no data key": (None, "KeyError"),
}


@pytest.mark.parametrize("case", sorted(BAD_BATCHES))
def test_load_cifar10_validates_each_batch(fake_cifar, small_pools, case):
    """A batch that unpickles but has the wrong rows, shape or values: ValueError naming the file (no IndexError)."""
    make, reason = BAD_BATCHES[case]
    path = fake_cifar / "data_batch_4"
    if make is None:
        with open(path, "wb") as handle:
            pickle.dump({b"labels": [0] * 20}, handle)
    else:
        write_raw_batch(path, *make(np.random.RandomState(0)))
    with pytest.raises(ValueError) as info:
        data_module.load_cifar10(str(fake_cifar), num_train=70, num_val=30, num_test=10)
    message = str(info.value)
    assert isinstance(info.value, data_module.ScriptError)
    assert f"CIFAR-10 batch file {path} is corrupt or truncated" in message and reason in message, message


def test_load_cifar10_int_pixels_in_range_are_accepted(fake_cifar, small_pools):
    """uint8-compatible data (int64 values 0..255, labels as an array) loads like uint8."""
    rng = np.random.RandomState(1)
    pixels = rng.randint(0, 256, (20, 3072))
    write_raw_batch(fake_cifar / "test_batch", pixels, np.arange(20) % 10)
    data = data_module.load_cifar10(str(fake_cifar), num_train=0, num_val=0, num_test=20)
    np.testing.assert_array_equal(data["X_test"], pixels.astype(np.float32) / 255)
    assert data["y_test"].dtype == np.int64


def test_load_cifar10_real_sizes_need_real_batches(fake_cifar):
    """With the real pool sizes a 20-image test_batch is reported (it used to fail later with an IndexError)."""
    with pytest.raises(ValueError, match=r"test_batch is corrupt or truncated \(it holds 20 images, expected 10000\)"):
        data_module.load_cifar10(str(fake_cifar), num_train=0, num_val=0, num_test=10)


def test_data_sampler_covers_every_example_once_per_pass():
    X = np.arange(23 * 2, dtype=np.float32).reshape(23, 2)
    y = np.arange(23)
    sampler = data_module.DataSampler(X, y, 5, seed=0)
    assert len(sampler) == 5
    for _ in range(2):
        batches = list(sampler)
        assert [len(b[1]) for b in batches] == [5, 5, 5, 5, 3]
        seen = np.concatenate([b[1] for b in batches])
        assert sorted(seen) == list(range(23))
        for xb, yb in batches:
            np.testing.assert_array_equal(xb[:, 0], 2 * yb)  # images stay paired with their labels


def test_download_script_checks_md5_and_url():
    text = (paths.KIT / "download_cifar.sh").read_text()  # neuralnet/'s hands over to it
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in text
    assert "c58f30108f718f92721af3b95e74349a" in text
    assert "curl" in text and "wget" in text
    assert os.access(NEURALNET / "download_cifar.sh", os.X_OK)
    subprocess.run(["bash", "-n", str(NEURALNET / "download_cifar.sh")], check=True)


def run_download_script(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(NEURALNET / "download_cifar.sh")], cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=60)


def test_download_script_skips_only_a_complete_folder(fake_cifar):
    """All six files: 'already exists' (delete to download again), as data.py's messages say."""
    result = run_download_script(fake_cifar.parent)
    assert result.returncode == 0 and "already exists" in result.stdout and "delete" in result.stdout, result.stdout


def test_download_script_redownloads_an_incomplete_folder(fake_cifar):
    """A folder missing a batch is downloaded again (here: a bad archive in place, so no network is used)."""
    (fake_cifar / "data_batch_2").unlink()
    archive = fake_cifar.parent / "cifar-10-python.tar.gz"
    archive.write_bytes(b"not the real archive")
    result = run_download_script(fake_cifar.parent)
    assert "incomplete (missing: data_batch_2)" in result.stdout, result.stdout
    assert result.returncode == 1 and "md5" in result.stdout and not archive.exists(), result.stdout


# ---------------------------------------------------------------------------------------------------------------
# real CIFAR-10: a short reference training run, and save -> load -> test.py


@pytest.mark.slow
def test_short_training_beats_chance_and_checkpoint_round_trips(cifar10_dir, tmp_path):
    shutil.copytree(NEURALNET, tmp_path / "neuralnet",
                    ignore=shutil.ignore_patterns("__pycache__", "checkpoint.pkl", "plot.pdf"))
    work = tmp_path / "neuralnet"
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    train = subprocess.run([sys.executable, "train.py", "--data-dir", str(cifar10_dir), "--num-train", "4000",
                            "--num-epochs", "3", "--checkpoint-file", "ck.pkl", "--plot-file", "p.pdf"],
                           cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=600)
    assert train.returncode == 0, train.stdout
    val = float(re.search(r"final: train accuracy [0-9.]+%, validation accuracy ([0-9.]+)%", train.stdout).group(1))
    assert val >= 25.0, train.stdout  # chance is 10 %
    assert (work / "p.pdf").read_bytes().startswith(b"%PDF")

    test = subprocess.run([sys.executable, "test.py", "--data-dir", str(cifar10_dir), "--checkpoint-file", "ck.pkl"],
                          cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=300)
    assert test.returncode == 0, test.stdout
    printed = float(re.search(r"Test accuracy: ([0-9.]+)%", test.stdout).group(1))

    # The same accuracy computed here from the pickled arrays and the grader's evaluation arrays.
    with open(work / "ck.pkl", "rb") as handle:
        params = pickle.load(handle)  # our own file, just written by the reference
    training = params.pop("_training")  # how it was made: hyper-parameters and loss history (not a parameter)
    assert training["hyperparameters"]["num_train"] == 4000 and training["hyperparameters"]["num_epochs"] == 3
    assert sorted(params) == ["W1", "W2", "b1", "b2"]
    evaluation = eval_data.cifar10_test()
    assert evaluation is not None
    X = evaluation[0].astype(np.float32) / 255
    W1, b1, W2, b2 = (np.asarray(params[k], dtype=np.float64) for k in ("W1", "b1", "W2", "b2"))
    scores = np.maximum(X @ W1 + b1, 0) @ W2 + b2
    expected = 100.0 * np.mean(scores.argmax(axis=1) == evaluation[1])
    assert printed == pytest.approx(round(expected, 2), abs=1e-9)
    assert printed > 25.0


def run_in_neuralnet(code: str, timeout: float = 120) -> str:
    """Run python code with cwd = kit/neuralnet (flat imports) in a fresh interpreter; returns its stdout."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run([sys.executable, "-c", code], cwd=NEURALNET, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout
    return result.stdout


def test_train_history_and_centering_fold():
    """train() returns per-epoch history; with center_inputs the model ends up taking the raw inputs (the fold)."""
    out = run_in_neuralnet(r'''
import json
import numpy as np
from two_layer_net import TwoLayerNet
from train import train
rng = np.random.RandomState(0)
centers = rng.randn(3, 20).astype(np.float32)
y = rng.randint(0, 3, size=600)
X = (5.0 + centers[y] + 0.3 * rng.randn(600, 20)).astype(np.float32)  # far from zero mean: folding matters
data = {"X_train": X[:500], "y_train": y[:500], "X_val": X[500:], "y_val": y[500:]}
np.random.seed(0)
model = TwoLayerNet(20, 3, 16, 0.1, dtype=np.float32)
history = train(model, data, num_epochs=4, batch_size=50, learning_rate=0.05, reg=0.0, momentum=0.9,
                center_inputs=True, progress=False)
raw_accuracy = 100.0 * np.mean(model.predict(X[500:]) == y[500:])
print(json.dumps({"history": history, "raw_accuracy": raw_accuracy}))
''')
    result = json.loads(out.strip().splitlines()[-1])
    history = result["history"]
    assert len(history["val_acc"]) == len(history["train_acc"]) == len(history["epoch_seconds"]) == 4
    assert len(history["loss"]) == 4 * 10
    assert history["epoch_seconds"] == sorted(history["epoch_seconds"])
    assert result["raw_accuracy"] == history["val_acc"][-1] >= 95.0


def test_save_load_round_trip_resizes(tmp_path):
    """Classifier.load builds TwoLayerNet() (hidden 512) and resizes its live arrays to a saved hidden size of 16."""
    out = run_in_neuralnet(rf'''
import numpy as np
from two_layer_net import TwoLayerNet
np.random.seed(1)
model = TwoLayerNet(3072, 10, 16, 0.01, dtype=np.float32)
path = {str(tmp_path / "ck.pkl")!r}
model.save(path)
loaded = TwoLayerNet.load(path)
saved, got = model.parameters(), loaded.parameters()
assert sorted(saved) == sorted(got)
for k in saved:
    assert got[k].shape == saved[k].shape, (k, got[k].shape)
    assert np.array_equal(got[k], saved[k]), k
assert got["W1"] is loaded.params["W1"]  # still the live arrays
X = np.random.rand(7, 3072).astype(np.float32)
assert np.array_equal(loaded.predict(X), model.predict(X))
print("ok")
''')
    assert out.strip().endswith("ok")


def test_checkpoint_with_training_record_loads_everywhere(tmp_path):
    """A checkpoint saved with its training record loads in TwoLayerNet.load and test.py, and the grader's sandbox
    procedure sends back only the weight arrays (the record is skipped), which identify_two_layer finds."""
    path = tmp_path / "ck.pkl"
    out = run_in_neuralnet(rf'''
import numpy as np
from two_layer_net import TwoLayerNet
import test
np.random.seed(2)
model = TwoLayerNet(3072, 10, 8, 0.01)
model.save({str(path)!r}, training={{"hyperparameters": {{"reg": 0.1}}, "loss": np.arange(10.0),
                                     "train_acc": [1.0], "val_acc": [2.0]}})
loaded = test.load_model({str(path)!r})
assert sorted(loaded.parameters()) == ["W1", "W2", "b1", "b2"]
assert np.array_equal(loaded.parameters()["W1"], model.parameters()["W1"])
print("ok")
''')
    assert out.strip().endswith("ok")
    from autograder.grading.checks import section1_training as graded
    from autograder.grading.harness import section1_procedures as procedures
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        info = procedures.checkpoint_arrays(None, "ck.pkl", 10 ** 8)  # our own file, written just now
    finally:
        os.chdir(cwd)
    assert info["skipped"] == ["_training"] and sorted(info["keys"]) == ["W1", "W2", "b1", "b2"]
    weights, keys, why = graded.identify_two_layer(info["keys"], info["arrays"])
    assert why is None and keys == ["W1", "b1", "W2", "b2"]


# ---------------------------------------------------------------------------------------------------------------
# train.main with a model built to the spec's signature (no dtype argument), on synthetic data

SYNTHETIC_MAIN = r'''
import json, sys
import numpy as np
import train
rng = np.random.RandomState(0)
centers = rng.randn(10, 3072).astype(np.float32)
def fake_load(data_dir, num_train, num_val, num_test, seed):
    y = rng.randint(0, 10, size=num_train + num_val)
    X = np.clip(0.5 + 0.1 * centers[y] + 0.05 * rng.randn(len(y), 3072), 0, 1).astype(np.float32)
    return {"X_train": X[:num_train], "y_train": y[:num_train], "X_val": X[num_train:], "y_val": y[num_train:]}
train.load_cifar10 = fake_load
status = train.run_script(train.main, ["--num-train", "300", "--num-epochs", "2", "--checkpoint-file", "ck.pkl",
                                       "--plot-file", "p.pdf"])
print("status", status)
sys.exit(status)
'''

# A TwoLayerNet written to the spec's signature: no dtype argument, float64 parameters in self.params.
SPEC_TWO_LAYER_NET = '''
import numpy as np
from classifier import Classifier
from layers import fc_backward, fc_forward, relu_backward, relu_forward


class TwoLayerNet(Classifier):
    def __init__(self, input_dim=3072, num_classes=10, hidden_dim=512, weight_scale=1e-3):
        self.params = {"w1": weight_scale * np.random.randn(input_dim, hidden_dim), "b1": np.zeros(hidden_dim),
                       "w2": weight_scale * np.random.randn(hidden_dim, num_classes), "b2": np.zeros(num_classes)}

    def parameters(self):
        return self.params

    def forward(self, X):
        W = [self.params[k] for k in ("w1", "b1", "w2", "b2")]
        h, c1 = fc_forward(X, W[0], W[1])
        a, c2 = relu_forward(h)
        s, c3 = fc_forward(a, W[2], W[3])
        return s, (c1, c2, c3)

    def backward(self, grad_scores, cache):
        c1, c2, c3 = cache
        ga, gw2, gb2 = fc_backward(grad_scores, c3)
        _, gw1, gb1 = fc_backward(relu_backward(ga, c2), c1)
        return {"w1": gw1, "b1": gb1, "w2": gw2, "b2": gb2}
'''


def test_train_main_with_spec_signature_model(tmp_path):
    """train.py builds a TwoLayerNet written to the spec's signature (no dtype argument) and trains it in the float64
    it builds; the kit's own TwoLayerNet (which takes a dtype) trains in float32."""
    work = tmp_path / "neuralnet"
    shutil.copytree(NEURALNET, work, ignore=shutil.ignore_patterns("__pycache__", "checkpoint.pkl", "plot.pdf"))
    (work / "two_layer_net.py").write_text(SPEC_TWO_LAYER_NET)
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run([sys.executable, "-c", SYNTHETIC_MAIN], cwd=work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=300)
    assert result.returncode == 0 and "status 0" in result.stdout, result.stdout
    with open(work / "ck.pkl", "rb") as handle:
        params = pickle.load(handle)  # written just now by the kit's own code
    training = params.pop("_training")
    # The checkpoint records how it was made: every hyper-parameter train.py used and the loss per iteration.
    assert {"num_train", "hidden_dim", "batch_size", "num_epochs", "learning_rate", "reg", "momentum", "lr_decay",
            "weight_scale", "center_inputs", "seed", "overfit"} <= set(training["hyperparameters"])
    assert training["hyperparameters"]["num_train"] == 300 and training["hyperparameters"]["num_epochs"] == 2
    assert training["loss"].dtype == np.float64 and training["loss"].ndim == 1 and training["loss"].size > 0
    assert len(training["val_acc"]) == len(training["train_acc"]) == 2
    assert {v.dtype for v in params.values()} == {np.dtype(np.float64)}, {k: v.dtype for k, v in params.items()}
    val = float(re.search(r"validation accuracy ([0-9.]+)%; saved", result.stdout).group(1))
    assert val >= 50.0, result.stdout  # separable synthetic classes: the model really trained (chance is 10 %)


def test_train_main_training_step_stub_is_one_line(tmp_path):
    """A stub training_step (the student version's) with a working TwoLayerNet: one line naming train.py."""
    work = tmp_path / "neuralnet"
    shutil.copytree(NEURALNET, work, ignore=shutil.ignore_patterns("__pycache__", "checkpoint.pkl", "plot.pdf"))
    text = (work / "train.py").read_text()
    start, end = text.index("    # BEGIN SOLUTION\n    scores"), text.index("    # END SOLUTION\n    return loss")
    stub = '    raise NotImplementedError("training_step: not implemented yet")\n'
    (work / "train.py").write_text(text[:start] + stub + text[end + len("    # END SOLUTION\n"):])
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run([sys.executable, "-c", SYNTHETIC_MAIN], cwd=work,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stdout, result.stdout
    assert "-c: training_step: not implemented yet; fill it in train.py first" in result.stdout, result.stdout


# ---------------------------------------------------------------------------------------------------------------
# the overfit setting on real CIFAR-10


# (tests/test_section1_kit.py runs train.py --overfit on real CIFAR-10 with a student-style correct network.)


# ---------------------------------------------------------------------------------------------------------------
# autograder.paths.cifar10_dir when the data folder's script fails


def test_cifar10_dir_returns_none_when_the_batch_script_fails(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "make_cifar10_batches.py").write_text("import sys\nsys.exit('cannot open cifar-10-jpeg-q75.tar.gz')\n")
    monkeypatch.setenv("DLKIT_DATA", str(data))
    monkeypatch.setenv("DLKIT_CACHE", str(tmp_path / "cache"))
    with pytest.warns(RuntimeWarning, match="make_cifar10_batches.py failed") as record:
        assert paths.cifar10_dir() is None
    message = str(record[0].message)
    assert "exit status 1" in message and "cannot open cifar-10-jpeg-q75.tar.gz" in message, message
    assert paths.cifar10_dir.last_error == message
