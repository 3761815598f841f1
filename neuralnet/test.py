"""Test accuracy of a saved TwoLayerNet checkpoint. Run it once, at the very end (python test.py)."""
import argparse
import os
import pickle
import sys
import traceback

import numpy as np

from classifier import TRAINING_KEY
from data import DataSampler, ScriptError, load_cifar10, run_script
from two_layer_net import TwoLayerNet
from utils import check_accuracy


class CheckpointError(ScriptError):
    """The checkpoint file is missing, unreadable, or does not fit TwoLayerNet."""


def read_checkpoint(path):
    """The dict name -> array pickled by Classifier.save, or CheckpointError saying what is wrong with the file."""
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint file not found: {path} (python train.py writes it; pass another file "
                              "with --checkpoint-file)")
    try:
        with open(path, "rb") as handle:
            saved = pickle.load(handle)
    except Exception as exc:  # noqa: BLE001 -- any error unpickling the file means the file is damaged
        raise CheckpointError(f"cannot read the checkpoint file {path} ({type(exc).__name__}: {exc}); run "
                              "python train.py again to write it") from None
    if isinstance(saved, dict) and isinstance(saved.get(TRAINING_KEY), dict):
        saved = {k: v for k, v in saved.items() if k != TRAINING_KEY}  # how it was trained: not a parameter
    if not isinstance(saved, dict) or not all(
            isinstance(k, str) and isinstance(v, np.ndarray) and v.dtype.kind == "f" for k, v in saved.items()):
        raise CheckpointError(f"{path} is not a checkpoint written by train.py (expected a dict of parameter name "
                              "-> float array); run python train.py again to write it")
    return saved


def load_model(path):
    """TwoLayerNet.load(path), after checking the file; CheckpointError when the saved arrays do not fit the model."""
    read_checkpoint(path)
    try:
        return TwoLayerNet.load(path)
    except (KeyError, ValueError) as exc:
        last = traceback.extract_tb(exc.__traceback__)[-1]
        if os.path.basename(last.filename) == "classifier.py" and last.name == "load":  # the file's contents
            message = str(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc)
            if path not in message:
                message = f"{path} does not fit TwoLayerNet: {message}"
            raise CheckpointError(f"{message} (was it written by train.py with this two_layer_net.py?)") from None
        raise  # raised in your own code: a bug whose traceback you need


def main(argv=None):
    parser = argparse.ArgumentParser(description="Print the CIFAR-10 test accuracy of a checkpoint.")
    parser.add_argument("--checkpoint-file", default="checkpoint.pkl", help="the weights saved by train.py")
    parser.add_argument("--batch-size", type=int, default=1000, help="images per forward pass")
    parser.add_argument("--data-dir", default="cifar-10-batches-py", help="the CIFAR-10 batches folder")
    args = parser.parse_args(argv)
    model = load_model(args.checkpoint_file)  # first: a missing checkpoint is reported before loading the data
    data = load_cifar10(args.data_dir, num_train=0, num_val=0, num_test=10000)
    sampler = DataSampler(data["X_test"], data["y_test"], args.batch_size, shuffle=False)
    accuracy = check_accuracy(model, sampler)
    print(f"Test accuracy: {accuracy:.2f}%")
    return accuracy


if __name__ == "__main__":
    sys.exit(run_script(main))
