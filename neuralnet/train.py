"""Section 1, task 4: train a TwoLayerNet on CIFAR-10 with minibatch SGD.

Run from this folder (after ./download_cifar.sh):

    python train.py              # your best model: writes checkpoint.pkl and plot.pdf
    python train.py --overfit    # your overfit setting (>= 75 % training accuracy)

Then ``python test.py`` once, at the very end, for the test accuracy of checkpoint.pkl.
Targets: the best model >= 40 % validation accuracy; the overfit setting >= 75 % training accuracy.
"""
import argparse
import inspect
import sys
import time

import numpy as np

from classifier import Classifier
from data import IMAGE_SIZE, NUM_CLASSES, DataSampler, load_cifar10, run_script
from layers import l2_regularization, softmax_loss
from optim import SGD
from two_layer_net import TwoLayerNet
from utils import check_accuracy

TRAIN_ACC_SAMPLES = 5000  # training accuracy per epoch is measured on at most this many training images (speed)


def training_step(model, X_batch, y_batch, reg):
    """Loss and gradients of one minibatch: softmax loss of the scores plus L2 regularization of the weights.

    Every FC weight matrix (a parameter with 2 dimensions) is regularized with l2_regularization(w, reg); biases
    (1 dimension) are not. Do not change the parameters here: the optimizer does that.

    Args:
        model: a Classifier (e.g. TwoLayerNet) with parameters(), forward(X) and backward(grad_scores, cache).
        X_batch: float array (N, D).
        y_batch: int array (N,), labels in [0, C).
        reg: float, the L2 regularization strength.
    Returns:
        loss: float, the data loss plus the regularization of every weight matrix.
        grads: dict with the keys of model.parameters(); each gradient has its parameter's shape.
    """
    loss, grads = None, None
    # BEGIN SOLUTION
    scores, cache = model.forward(X_batch)
    loss, grad_scores = softmax_loss(scores, y_batch)
    grads = model.backward(grad_scores, cache)
    for name, param in model.parameters().items():
        if param.ndim == 2:
            reg_loss, reg_grad = l2_regularization(param, reg)
            loss += reg_loss
            grads[name] = grads[name] + reg_grad
    # END SOLUTION
    return loss, grads


def first_layer(model, input_dim):
    """The (weight, bias) live arrays of the model's first FC layer, found by shape.

    The weight is the only 2-D parameter with ``input_dim`` rows; the bias is the only 1-D parameter with as many
    entries as the weight has columns. Raises ValueError when the shapes do not say which they are.

    Returns:
        weight: float array (input_dim, H). bias: float array (H,).
    """
    params = model.parameters()
    weights = [v for v in params.values() if v.ndim == 2 and v.shape[0] == input_dim]
    if len(weights) != 1:
        raise ValueError(f"cannot tell the first layer's weights: {len(weights)} parameters have {input_dim} rows")
    biases = [v for v in params.values() if v.ndim == 1 and v.shape[0] == weights[0].shape[1]]
    if len(biases) != 1:
        raise ValueError(f"cannot tell the first layer's biases: {len(biases)} parameters of shape "
                         f"({weights[0].shape[1]},)")
    return weights[0], biases[0]


def build_model(hidden_dim, weight_scale):
    """TwoLayerNet(3072, 10, hidden_dim, weight_scale), with float32 parameters when its __init__ takes a ``dtype``.

    The kit's TwoLayerNet does: float32 halves the memory traffic and doubles the speed of the matmuls (the images
    are float32 already). A TwoLayerNet written to the original signature, without ``dtype``, trains in the dtype
    it builds (float64 for np.random.randn).
    """
    if "dtype" in inspect.signature(TwoLayerNet.__init__).parameters:
        return TwoLayerNet(IMAGE_SIZE, NUM_CLASSES, hidden_dim, weight_scale, dtype=np.float32)
    return TwoLayerNet(IMAGE_SIZE, NUM_CLASSES, hidden_dim, weight_scale)


def train(model, data, num_epochs, batch_size, learning_rate, reg, momentum=0.0, lr_decay=1.0, print_every=0,
          seed=0, progress=None, center_inputs=False):
    """Train ``model`` in place with minibatch SGD and return the history.

    With ``center_inputs`` the model is trained on X - mean (the mean image of X_train): SGD converges much faster
    on centered inputs. The shift is folded into the first layer's bias (b -= mean @ W) whenever the model is
    evaluated and at the end, so the trained model (and its checkpoint) takes the plain images, like test.py and
    the grader feed it.

    Args:
        model: a Classifier (with center_inputs: one whose first layer is X @ W + b, e.g. TwoLayerNet).
        data: dict from load_cifar10 (X_train (N, D), y_train (N,), X_val (M, D), y_val (M,); float32 / int64).
        num_epochs: int, passes over the training images.
        batch_size: int.
        learning_rate: float, the initial learning rate.
        reg: float, L2 regularization strength.
        momentum: float, SGD momentum (0: plain SGD).
        lr_decay: float, the learning rate is multiplied by this after every epoch.
        print_every: int, print the loss every this many iterations (0: never).
        seed: int, seed of the minibatch order.
        progress: show a tqdm progress bar (None: only when writing to a terminal).
        center_inputs: bool, train on mean-centered images (see above).
    Returns:
        dict: "loss" (list of floats, one per iteration), "train_acc" and "val_acc" (lists of percents, one per
        epoch; training accuracy on at most TRAIN_ACC_SAMPLES training images), "epoch_seconds" (list of the
        cumulative training wall time at the end of each epoch, accuracy evaluation excluded).
    """
    from tqdm import tqdm  # imported here so that importing training_step needs no tqdm

    X_train = data["X_train"]
    sampler = DataSampler(X_train, data["y_train"], batch_size, seed=seed)
    n_acc = min(TRAIN_ACC_SAMPLES, X_train.shape[0])
    train_eval = DataSampler(X_train[:n_acc], data["y_train"][:n_acc], 1000, shuffle=False)
    val_eval = DataSampler(data["X_val"], data["y_val"], 1000, shuffle=False)
    shift = first_bias = None
    if center_inputs:
        weight, first_bias = first_layer(model, X_train.shape[1])
        shift = X_train.mean(axis=0, dtype=np.float64)
        centered_bias = first_bias.copy()  # the bias of the model on centered inputs, while it trains
    optimizer = SGD(model.parameters(), learning_rate, momentum=momentum)
    history = {"loss": [], "train_acc": [], "val_acc": [], "epoch_seconds": []}
    elapsed = 0.0
    iteration = 0
    for epoch in range(num_epochs):
        start = time.perf_counter()
        if shift is not None:
            first_bias[...] = centered_bias
            shift_cast = shift.astype(X_train.dtype)
        bar = tqdm(sampler, desc=f"epoch {epoch + 1}/{num_epochs}", leave=False,
                   disable=None if progress is None else not progress)
        for X_batch, y_batch in bar:
            if shift is not None:
                X_batch = X_batch - shift_cast
            loss, grads = training_step(model, X_batch, y_batch, reg)
            optimizer.step(grads)
            history["loss"].append(float(loss))
            iteration += 1
            if print_every and iteration % print_every == 0:
                bar.write(f"iteration {iteration}: loss {float(loss):.4f}")
        bar.close()
        optimizer.learning_rate *= lr_decay
        elapsed += time.perf_counter() - start
        if shift is not None:
            # Fold the shift into the bias: (X - shift) @ W + b == X @ W + (b - shift @ W).
            centered_bias = first_bias.copy()
            first_bias[...] = centered_bias - shift @ weight.astype(np.float64)
        history["epoch_seconds"].append(elapsed)
        history["train_acc"].append(check_accuracy(model, train_eval))
        history["val_acc"].append(check_accuracy(model, val_eval))
        print(f"epoch {epoch + 1}/{num_epochs}: loss {history['loss'][-1]:.4f}, train accuracy "
              f"{history['train_acc'][-1]:.2f}%, validation accuracy {history['val_acc'][-1]:.2f}% "
              f"({elapsed:.1f} s)", flush=True)
    return history


def plot_history(history, path):
    """Write the loss per iteration and the train/validation accuracy per epoch to ``path`` (e.g. plot.pdf)."""
    import matplotlib
    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(2, 1, figsize=(6, 7))
    ax_loss.plot(history["loss"])
    ax_loss.set_xlabel("iteration")
    ax_loss.set_ylabel("training loss")
    epochs = np.arange(1, len(history["val_acc"]) + 1)
    ax_acc.plot(epochs, history["train_acc"], marker="o", label="train")
    ax_acc.plot(epochs, history["val_acc"], marker="o", label="validation")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Train a TwoLayerNet on CIFAR-10.")
    parser.add_argument("--overfit", action="store_true", help="use the overfit setting instead of the best model")
    parser.add_argument("--data-dir", default="cifar-10-batches-py", help="the CIFAR-10 batches folder")
    parser.add_argument("--checkpoint-file", default="checkpoint.pkl", help="where to save the trained weights")
    parser.add_argument("--plot-file", default="plot.pdf", help="where to save the loss and accuracy plot")
    parser.add_argument("--print-every", type=int, default=0, help="print the loss every this many iterations")
    parser.add_argument("--num-train", type=int, default=None, help="override num_train (quick runs)")
    parser.add_argument("--num-epochs", type=int, default=None, help="override num_epochs (quick runs)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initialization and the minibatch order")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # The hyper-parameters to tune: your best model, and the overfit setting chosen with --overfit. Each setting
    # assigns every hyper-parameter itself (nothing carries over from the other one). Optional extras: SGD momentum,
    # learning-rate decay per epoch, the initial weight scale, and training on mean-centered inputs (see train()).
    # BEGIN SOLUTION hyperparameters
    if args.overfit:
        # few images, a wide net, no regularization and no decay: the net memorizes its training set
        num_train, hidden_dim, batch_size, num_epochs, learning_rate, reg = 1000, 512, 50, 20, 2e-2, 0.0
        momentum, lr_decay, weight_scale, center_inputs = 0.9, 1.0, 2.5e-2, True
    else:
        # 12 epochs with a gentler decay: 55.4 % validation in 46 s of training on 2 cores (BENCHMARKS.md)
        num_train, hidden_dim, batch_size, num_epochs, learning_rate, reg = 49000, 512, 200, 12, 2e-2, 1e-3
        momentum, lr_decay, weight_scale, center_inputs = 0.9, 0.85, 2.5e-2, True
    # END SOLUTION
    # BEGIN PROMPT
    # if args.overfit:
    #     # TODO: an overfit setting (>= 75 % training accuracy): change these values
    #     num_train, hidden_dim, batch_size, num_epochs, learning_rate, reg = 20000, 16, 128, 10, 1e-4, 1.0
    #     momentum, lr_decay, weight_scale, center_inputs = 0.0, 1.0, 1e-3, False
    # else:
    #     # TODO: your best model (>= 40 % validation accuracy): change these values
    #     num_train, hidden_dim, batch_size, num_epochs, learning_rate, reg = 20000, 16, 128, 10, 1e-4, 1.0
    #     momentum, lr_decay, weight_scale, center_inputs = 0.0, 1.0, 1e-3, False
    # END PROMPT
    if args.num_train is not None:
        num_train = args.num_train
    if args.num_epochs is not None:
        num_epochs = args.num_epochs

    np.random.seed(args.seed)
    # The model first (the arguments of the spec's signature): a stub says so before the data is loaded.
    model = build_model(hidden_dim, weight_scale)
    data = load_cifar10(args.data_dir, num_train=num_train, num_val=1000, num_test=0, seed=args.seed)
    history = train(model, data, num_epochs, batch_size, learning_rate, reg, momentum=momentum,
                    lr_decay=lr_decay, print_every=args.print_every, seed=args.seed, center_inputs=center_inputs)
    # The checkpoint keeps how it was made next to the weights (test.py and the grader read only the weights).
    hyperparameters = {"num_train": num_train, "hidden_dim": hidden_dim, "batch_size": batch_size,
                       "num_epochs": num_epochs, "learning_rate": learning_rate, "reg": reg, "momentum": momentum,
                       "lr_decay": lr_decay, "weight_scale": weight_scale, "center_inputs": center_inputs,
                       "seed": args.seed, "overfit": args.overfit}
    Classifier.save(model, args.checkpoint_file, training={
        "hyperparameters": {k: v.item() if isinstance(v, np.generic) else v for k, v in hyperparameters.items()},
        "loss": np.asarray(history["loss"], dtype=np.float64),
        "train_acc": [float(v) for v in history["train_acc"]], "val_acc": [float(v) for v in history["val_acc"]]})
    plot_history(history, args.plot_file)
    print(f"final: train accuracy {history['train_acc'][-1]:.2f}%, validation accuracy "
          f"{history['val_acc'][-1]:.2f}%; saved {args.checkpoint_file} and {args.plot_file}")
    return history


if __name__ == "__main__":
    sys.exit(run_script(main))
