"""The Classifier base class (given): the interface every model in this folder follows.

A model keeps its parameters as numpy arrays and hands out the live arrays through ``parameters()``, so an optimizer
(optim.py) and the gradient checks (gradcheck_classifier.py) can change them in place.
"""
import pickle

import numpy as np


# The checkpoint key of the training record (a dict: hyper-parameters, loss history, accuracies), not a parameter.
TRAINING_KEY = "_training"


class Classifier:
    """Base class of a classifier of N inputs of dimension D into C classes."""

    def parameters(self):
        """The model's parameters: dict name -> the live float array (changing it in place changes the model)."""
        raise NotImplementedError(f"{type(self).__name__}.parameters: not implemented yet")

    def forward(self, X):
        """Class scores of a minibatch.

        Args:
            X: float array (N, D).
        Returns:
            scores: float array (N, C).
            cache: whatever backward needs.
        """
        raise NotImplementedError(f"{type(self).__name__}.forward: not implemented yet")

    def backward(self, grad_scores, cache):
        """Gradients of the loss with respect to every parameter.

        Args:
            grad_scores: float array (N, C), the gradient of the loss with respect to the scores.
            cache: what forward returned with the scores.
        Returns:
            grads: dict with the keys of parameters(); grads[k] has the shape of parameters()[k].
        """
        raise NotImplementedError(f"{type(self).__name__}.backward: not implemented yet")

    def predict(self, X):
        """Predicted labels.

        Args:
            X: float array (N, D).
        Returns:
            y_pred: int array (N,), the index of the highest score of each row.
        """
        scores, _ = self.forward(X)
        return np.argmax(scores, axis=1)

    def save(self, path, training=None):
        """Pickle parameters() (dict name -> array) to ``path``.

        ``training`` (optional): how the model was made (train.py passes its hyper-parameters and loss history),
        stored under the key TRAINING_KEY next to the parameters; :meth:`load` and the grader use only the arrays.
        """
        checkpoint = dict(self.parameters())
        if training is not None:
            checkpoint[TRAINING_KEY] = training
        with open(path, "wb") as handle:
            pickle.dump(checkpoint, handle)

    @classmethod
    def load(cls, path):
        """Build ``cls()`` and copy the arrays saved by :meth:`save` into its live parameters.

        A saved array whose shape differs from the default model's (e.g. another hidden_dim) resizes the live array
        in place first, so the model keeps using the same array objects. Values are cast to the live dtype.
        """
        with open(path, "rb") as handle:
            saved = pickle.load(handle)
        saved = {name: value for name, value in saved.items() if name != TRAINING_KEY}
        model = cls()
        params = model.parameters()
        missing = sorted(set(params) - set(saved))
        extra = sorted(set(saved) - set(params))
        if missing or extra:
            raise KeyError(f"{path} does not match {cls.__name__}: missing parameters {missing}, unexpected {extra}")
        for name, live in params.items():
            value = np.asarray(saved[name])
            if live.shape != value.shape:
                try:
                    live.resize(value.shape, refcheck=False)
                except ValueError as exc:
                    raise ValueError(f"cannot resize parameter {name!r} from {live.shape} to {value.shape} in place "
                                     f"(it must be an array that owns its memory): {exc}") from None
            live[...] = value
        return model
