"""CS231n's CaptioningSolverTransformer: the training loop of the CaptioningTransformer, in PyTorch.

Data comes in CS231n's COCO schema (what helpers.coco_utils.load_coco_data returns), for the real COCO
set or the generated scene set alike:
- {split}_captions: int array (N_captions, T + 1) of word indices, <START> first, padded with <NULL>
- {split}_image_idxs: int array (N_captions,), the image each caption describes
- {split}_{feature_key}: float array of image features, (N_images, D) or a grid (N_images, P, D)
where split is "train" or "val" and feature_key is "features" unless told otherwise.
"""

import time

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from helpers._checks import non_negative_number, number_in, positive_int, positive_number


class CaptioningSolverTransformer:
    """
    A CaptioningSolverTransformer encapsulates all the logic necessary for training Transformer based
    image captioning models.

    To train a model, you will first construct a CaptioningSolverTransformer instance, passing the model,
    dataset, and various options (learning rate, batch size, etc) to the constructor. You will then call
    the train() method to run the optimization procedure and train the model.

    After the train() method returns, the instance variable solver.loss_history will contain a list of
    all losses encountered during training.

    Example usage might look something like this:

    data = load_coco_data()
    model = CaptioningTransformer(data["word_to_idx"], input_dim=data["train_features"].shape[1],
                                  wordvec_dim=256)
    solver = CaptioningSolverTransformer(model, data, idx_to_word=data["idx_to_word"],
                                         learning_rate=1e-3, num_epochs=10, batch_size=100, print_every=100)
    solver.train()

    Each epoch visits every training caption once, in an order drawn from `seed`, so a run repeats
    exactly. The model's forward(features, captions) must return scores of shape (N, T, V) and the model
    must have the index of <NULL> as `_null` (CaptioningTransformer does).
    """

    def __init__(self, model, data, idx_to_word, **kwargs):
        """
        Construct a new CaptioningSolverTransformer instance.

        Required arguments:
        - model: A model object conforming to the API described above
        - data: A dictionary of training and validation data from load_coco_data
        - idx_to_word: List (or dict) mapping word indices to words, for decoding samples

        Optional arguments:
        - learning_rate: Learning rate of the optimizer (default 1e-3)
        - weight_decay: Decoupled weight decay of AdamW (default 0: plain Adam, as in CS231n)
        - batch_size: Size of minibatches used to compute loss and gradient during training (default 100)
        - num_epochs: The number of epochs to run for during training (default 10)
        - lr_decay: After each epoch the learning rate is multiplied by this, as in CaptioningSolver
          (default 1.0: constant)
        - grad_clip: Clip the gradients' global norm to this value before each step (default None: off)
        - feature_key: Which features to train on: data[f"train_{feature_key}"] (default "features")
        - device: Where to train (default: where the model's parameters are)
        - seed: Seed of the minibatch order (default 0)
        - print_every: Integer; training losses will be printed every print_every iterations (default 10)
        - progress: Show a tqdm bar instead of the periodic prints (default False)
        - verbose: Boolean; if set to false then no output will be printed during training (default True)
        """
        self.model = model
        self.data = data
        self.idx_to_word = idx_to_word

        self.learning_rate = positive_number("learning_rate", kwargs.pop("learning_rate", 0.001))
        self.weight_decay = non_negative_number("weight_decay", kwargs.pop("weight_decay", 0.0))
        self.batch_size = positive_int("batch_size", kwargs.pop("batch_size", 100))
        self.num_epochs = positive_int("num_epochs", kwargs.pop("num_epochs", 10))
        self.lr_decay = number_in("lr_decay", kwargs.pop("lr_decay", 1.0), 0, 1, low_open=True)
        grad_clip = kwargs.pop("grad_clip", None)
        self.grad_clip = None if grad_clip is None else positive_number("grad_clip", grad_clip)
        self.feature_key = kwargs.pop("feature_key", "features")
        device = kwargs.pop("device", None)
        self.device = next(model.parameters()).device if device is None else torch.device(device)
        self.seed = int(kwargs.pop("seed", 0))
        self.print_every = positive_int("print_every", kwargs.pop("print_every", 10))
        self.progress = bool(kwargs.pop("progress", False))
        self.verbose = bool(kwargs.pop("verbose", True))

        # Throw an error if there are extra keyword arguments
        if len(kwargs) > 0:
            extra = ", ".join(f'"{k}"' for k in kwargs)
            raise ValueError(f"Unrecognized arguments {extra}")
        self._check_data("train")
        if not hasattr(model, "_null"):
            raise ValueError("model must have the index of <NULL> as `_null`, as CaptioningTransformer does")

        self.model.to(self.device)
        # With weight_decay = 0, AdamW is exactly Adam (CS231n's optimizer).
        self.optim = torch.optim.AdamW(self.model.parameters(), lr=self.learning_rate,
                                       weight_decay=self.weight_decay)
        self._reset()

    def _check_data(self, split):
        keys = [f"{split}_captions", f"{split}_image_idxs", f"{split}_{self.feature_key}"]
        missing = [k for k in keys if k not in self.data]
        if missing:
            raise ValueError(f"data is missing {missing}; it must hold {keys} (CS231n's COCO schema)")
        captions, image_idxs, features = (np.asarray(self.data[k]) for k in keys)
        if captions.ndim != 2 or captions.dtype.kind not in "iu":
            raise ValueError(f"{keys[0]} must be an integer array of shape (N, T), got {captions.dtype} "
                             f"{captions.shape}")
        if image_idxs.shape != (captions.shape[0],):
            raise ValueError(f"{keys[1]} must have shape ({captions.shape[0]},), one image per caption, "
                             f"got {image_idxs.shape}")
        if image_idxs.size and (image_idxs.min() < 0 or image_idxs.max() >= len(features)):
            raise ValueError(f"{keys[1]} must index the {len(features)} rows of {keys[2]}, got values in "
                             f"[{image_idxs.min()}, {image_idxs.max()}]")

    def _reset(self):
        """Set up some book-keeping variables for optimization. Don't call this manually."""
        self.epoch = 0
        self.loss_history = []
        self.epoch_seconds = []

    def transformer_temporal_softmax_loss(self, x, y, mask):
        """
        A temporal version of softmax loss for use in RNNs. We assume that we are making predictions over
        a vocabulary of size V for each timestep of a timeseries of length T, over a minibatch of size N.
        The input x gives scores for all vocabulary elements at all timesteps, and y gives the indices of
        the ground-truth element at each timestep. We use a cross-entropy loss at each timestep, and, as
        in CS231n, average it over all N * T entries, the masked ones counting as zero.

        Inputs:
        - x: Input scores, of shape (N, T, V)
        - y: Ground-truth indices, of shape (N, T) where each element is in the range 0 <= y[i, t] < V
        - mask: Boolean array of shape (N, T) where mask[i, t] tells whether or not the scores at x[i, t]
          should contribute to the loss

        Returns:
        - loss: Scalar tensor
        """
        N, T, V = x.shape
        loss = F.cross_entropy(x.reshape(N * T, V).float(), y.reshape(N * T), reduction="none")  # (N * T,)
        return (loss * mask.reshape(N * T)).mean()

    def _step(self, rows):
        """Make a single gradient update on the captions `rows`. Called by train()."""
        captions = self.data["train_captions"][rows]
        features = self.data[f"train_{self.feature_key}"][self.data["train_image_idxs"][rows]]
        # The model reads the caption up to the last word and predicts it shifted by one.
        captions_in = torch.as_tensor(captions[:, :-1], dtype=torch.long, device=self.device)
        captions_out = torch.as_tensor(captions[:, 1:], dtype=torch.long, device=self.device)
        mask = captions_out != self.model._null
        features = torch.as_tensor(np.asarray(features), dtype=torch.float32, device=self.device)

        logits = self.model(features, captions_in)
        loss = self.transformer_temporal_softmax_loss(logits, captions_out, mask)
        self.optim.zero_grad(set_to_none=True)
        loss.backward()
        if self.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optim.step()
        return loss.item()

    def train(self):
        """Run optimization to train the model; leaves it in eval mode. Returns the loss history."""
        num_train = self.data["train_captions"].shape[0]
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        rng = np.random.default_rng(self.seed)
        self.model.train()
        bar = tqdm(total=num_iterations, disable=not (self.progress and self.verbose), desc="training")
        t = 0
        for epoch in range(self.num_epochs):
            start = time.perf_counter()
            order = rng.permutation(num_train)
            for i in range(iterations_per_epoch):
                rows = order[i * self.batch_size:(i + 1) * self.batch_size]
                self.loss_history.append(self._step(rows))
                if self.progress:
                    bar.update()
                    bar.set_postfix(loss=f"{self.loss_history[-1]:.3f}", refresh=False)
                elif self.verbose and t % self.print_every == 0:
                    print(f"(Iteration {t + 1} / {num_iterations}) loss: {self.loss_history[-1]:f}")
                t += 1
            self.epoch = epoch + 1
            self.epoch_seconds.append(time.perf_counter() - start)
            for group in self.optim.param_groups:
                group["lr"] *= self.lr_decay
        bar.close()
        self.model.eval()
        return self.loss_history
