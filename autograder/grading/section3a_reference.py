"""The reference results of Section 3a's graded calls, computed in a separate process of the grader's own.

    python -m autograder.grading.section3a_reference INPUTS.npz OUTPUTS.npz

Run by ``checks/section3a_features.py`` after the sandbox run, with the grader's inputs (no student code anywhere
near it: only the reference ``cnnfeatures/features.py`` and the harness's probe CNN definition). It is a process of
its own so that the grading process never imports torch: on Gradescope's 768 MB, torch held by the grader (~250-500
MB) on top of a sandbox process running torch would not fit; one after the other they do.

INPUTS.npz (written by :func:`write_inputs`): ``variances/<i>/features``, ``variances/<i>/labels``, ``weights/<name>``,
``images``, ``labels`` and a JSON list ``extractions`` of [key, layer, batch, channels, pool]. OUTPUTS.npz:
``variances/<i>/<key>`` for every key of class_variances' dict, ``extract/<key>/features``, ``.../labels``, and
``after`` (the model in training mode, harness ``after_output``).
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict

import numpy as np

from autograder import paths, resources
from autograder.grading.faults import AutograderFault


def write_inputs(path: Path, inp: dict, extractions) -> None:
    arrays = {"images": inp["images"], "labels": inp["labels"],
              "extractions": np.array(json.dumps([list(e[:5]) for e in extractions]))}
    for i, case in enumerate(inp["variances"]):
        arrays[f"variances/{i}/features"] = case["features"]
        arrays[f"variances/{i}/labels"] = case["labels"]
    for name, value in inp["weights"].items():
        arrays[f"weights/{name}"] = value
    np.savez(path, **arrays)


def compute(in_path: Path, out_path: Path) -> None:
    import torch

    from autograder.grading import reference
    from autograder.grading.harness import section3a_procedures as procedures
    torch.set_num_threads(1)
    ref = reference.load("cnnfeatures", "features")
    out: Dict[str, np.ndarray] = {}
    with np.load(in_path, allow_pickle=False) as data:
        i = 0
        while f"variances/{i}/features" in data:
            result = ref.class_variances(data[f"variances/{i}/features"], data[f"variances/{i}/labels"])
            for key, value in result.items():
                out[f"variances/{i}/{key}"] = np.asarray(value)
            i += 1
        weights = {name[len("weights/"):]: data[name] for name in data.files if name.startswith("weights/")}
        images, labels = data["images"], data["labels"]
        extractions = json.loads(str(data["extractions"]))
    # The model as handed over (training mode), after a call that puts its mode back: what extract's "after" must be.
    handed = procedures.load_weights(procedures.build_probe_cnn(), weights).train()
    out["after"] = procedures.after_output(handed, images)
    model = procedures.load_weights(procedures.build_probe_cnn(), weights).eval()
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
    for key, layer, batch, channels, pool in extractions:
        loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=False)
        kwargs = {k: v for k, v in (("channels", channels), ("pool", pool)) if v is not None}
        with contextlib.redirect_stderr(io.StringIO()):  # the reference's progress bar
            feats, labs = ref.extract_features(model, layer, loader, **kwargs)
        out[f"extract/{key}/features"], out[f"extract/{key}/labels"] = feats, labs
    np.savez(out_path, **out)


def run(inp: dict, extractions, timeout: float = 120) -> Dict[str, np.ndarray]:
    """Compute the reference results in a fresh process; returns the OUTPUTS.npz arrays by name.

    Raises:
        AutograderFault: the reference run failed (an instructor problem, e.g. a module missing from the
            autograder's environment: the message has its stderr); no score may come from this grading.
    """
    with tempfile.TemporaryDirectory(prefix="dlkit-features-ref-") as tmp:
        in_path, out_path = Path(tmp) / "inputs.npz", Path(tmp) / "outputs.npz"
        write_inputs(in_path, inp, extractions)
        env = dict(os.environ, PYTHONPATH=str(paths.REPO), **resources.compute_env(threads=1))
        done = subprocess.run([sys.executable, "-m", "autograder.grading.section3a_reference", str(in_path),
                               str(out_path)], cwd=str(paths.REPO), env=env, capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode != 0 or not out_path.is_file():
            raise AutograderFault(f"the reference run of Section 3a failed (exit {done.returncode}): "
                                  f"{done.stderr[-2000:]}")
        with np.load(out_path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}


if __name__ == "__main__":
    compute(Path(sys.argv[1]), Path(sys.argv[2]))
