"""Sandbox procedures for the Section 2 notebooks. This file runs INSIDE the sandbox, next to the student's files.

The part1 notebook exports the trained network as TorchScript (``part1_model.pt``). Loading such a file runs code the
student controls, so it happens only here, in the sandboxed interpreter; the grading process receives plain arrays
and computes the accuracy itself from the labels it holds (the labels never enter the sandbox).

Called through ``student_code.run_calls`` as ``procedure="section2_procedures.part1_logits"`` with no student
module: the harness calls ``part1_logits(None, *args)``.

Besides the logits it reports what the export is made of, read from the frozen TorchScript graph (TorchScript cannot
run Python, so a student's file cannot change what this reports): every operation kind in the graph, the parameter
count, and how many tensor elements the frozen graph holds as constants (parameters, buffers and anything else the
module stores). The grader decides from that report; nothing is judged here.
"""
from __future__ import annotations

import os

import numpy as np

# The part1 notebook's normalization (the export's input contract): x = (pixel / 255 - mean) / std.
FASHION_MEAN = 0.2860
FASHION_STD = 0.3530
NUM_CLASSES = 10


def part1_logits(_module, model_file: str, images_file: str, chunk: int = 500, ablate: int = 0) -> dict:
    """Run the exported part1 model on Fashion-MNIST images, on the CPU with one thread.

    Args:
        _module: unused (the harness passes the call's student module, None here).
        model_file: name of the TorchScript file in the workspace (``part1_model.pt``).
        images_file: name of an ``.npy`` file in the workspace: uint8 (N, 28, 28) raw test images.
        chunk: images per forward pass; small chunks keep the peak memory low (Gradescope gives 768 MB).
        ablate: when above 0, also the predictions for the first ``ablate`` images with every convolution's weights
            (the 4-D parameters) set to zero: whether the convolutions matter to the predictions.
    Returns:
        {"logits": float32 (N, 10), the model's outputs for the normalized images, in input order,
         "graph": the export's make-up (see :func:`graph_report`),
         "shapes": the parameters' shapes, sorted (the architecture, to compare with another export's),
         "ablated": int64 (ablate,) predictions without the convolutions (only with ``ablate``)}.
    Raises:
        FileNotFoundError: the model file is missing.
        ValueError: the model's output has the wrong shape or type (the message names what it returned).
    """
    # Imported here: the other procedures modules must not pay for (or depend on) torch.
    import torch

    torch.set_num_threads(1)  # the sandbox's environment also says one thread; Gradescope has half a CPU
    if not os.path.isfile(model_file):
        raise FileNotFoundError(f"{model_file} not found in the submission (the last cell of part1.ipynb writes it)")
    images = np.load(images_file, allow_pickle=False)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"internal: expected uint8 (N, 28, 28) images, got {images.dtype} {images.shape}")
    model = torch.jit.load(model_file, map_location="cpu")
    model.eval()  # dropout off, batch norm with its running statistics
    graph = graph_report(torch, model)
    shapes = sorted([int(d) for d in p.shape] for p in model.parameters())
    result = {"graph": graph, "shapes": shapes}
    if ablate:
        with torch.no_grad():
            convs = [p for p in model.parameters() if p.dim() == 4]
            saved = [p.detach().clone() for p in convs]
            for p in convs:
                p.zero_()
            result["ablated"] = np.argmax(_logits(torch, model, model_file, images[:ablate], chunk), axis=1)
            for p, value in zip(convs, saved):
                p.copy_(value)
    result["logits"] = _logits(torch, _optimized(torch, model), model_file, images, chunk)
    return result


def _logits(torch, model, model_file: str, images: np.ndarray, chunk: int) -> np.ndarray:
    outputs = []
    with torch.inference_mode():
        for start in range(0, images.shape[0], chunk):
            batch = torch.from_numpy(images[start:start + chunk]).float().div_(255.0)
            batch = batch.sub_(FASHION_MEAN).div_(FASHION_STD).unsqueeze(1)  # float32 (n, 1, 28, 28)
            scores = model(batch)
            if not isinstance(scores, torch.Tensor):
                raise ValueError(f"{model_file} returned {type(scores).__name__}, expected a tensor of logits "
                                 f"of shape (N, {NUM_CLASSES})")
            if tuple(scores.shape) != (batch.shape[0], NUM_CLASSES):
                raise ValueError(f"{model_file} returned shape {tuple(scores.shape)} for input "
                                 f"{tuple(batch.shape)}, expected ({batch.shape[0]}, {NUM_CLASSES})")
            outputs.append(scores.detach().to(torch.float32).numpy())
    return np.concatenate(outputs, axis=0)


def graph_report(torch, model) -> dict:
    """What a loaded TorchScript module is made of, from its frozen graph (sub-blocks included).

    Returns:
        {"ops": sorted node kinds ("aten::linear", "prim::Constant", ...),
         "parameters": number of parameter elements,
         "buffer_elements": number of buffer elements (batch norm statistics, ...),
         "constant_elements": tensor elements held as constants by the frozen graph (parameters and buffers are
         folded into constants by freezing, so anything beyond them is data the module stores),
         "largest_constant": shape of the largest constant tensor}.
    """
    parameters = int(sum(p.numel() for p in model.parameters()))
    buffers = int(sum(b.numel() for b in model.buffers()))
    frozen = torch._C._freeze_module(model._c)  # attributes inlined as constants; no numerics-changing passes
    kinds, constant_elements, largest = set(), 0, (0, [])

    def visit(block) -> None:
        nonlocal constant_elements, largest
        for node in block.nodes():
            kinds.add(node.kind())
            if node.kind() == "prim::Constant":
                for output in node.outputs():
                    if output.type().kind() == "TensorType":
                        value = output.toIValue()
                        constant_elements += int(value.numel())
                        if value.numel() > largest[0]:
                            largest = (int(value.numel()), [int(d) for d in value.shape])
            for sub in node.blocks():
                visit(sub)

    visit(frozen._get_method("forward").graph)
    return {"ops": sorted(kinds), "parameters": parameters, "buffer_elements": buffers,
            "constant_elements": constant_elements, "largest_constant": largest[1]}


def _optimized(torch, model):
    """The model frozen and optimized for CPU inference (batch norm folded, oneDNN kernels): about 3x faster than
    the plain TorchScript module on one thread, with the same outputs up to float32 round-off (~1e-5). A model
    that cannot be optimized is run as it is."""
    try:
        return torch.jit.optimize_for_inference(torch.jit.freeze(model))
    except Exception:  # noqa: BLE001 -- any model TorchScript accepts must still be graded, only slower
        return model
