"""CaptioningRNN: an image captioning model built from the layers of helpers.rnn_layers.

An image feature vector (e.g. a CNN's fc7 activations) is projected into the initial hidden
state of a recurrent network (vanilla RNN or LSTM), which then reads the caption one word
at a time and predicts the next word at every step. The model follows the CS231n API used
by the CaptioningSolver: parameters live in the dict `params` and `loss(features, captions)`
returns `(loss, grads)`.

Sampling (test time) feeds the model its own predictions:
- greedy (the default, as in CS231n): the most likely word at every step;
- temperature sampling (`temperature > 0`): a word drawn from softmax(scores / temperature)
  with a seeded generator; the lower the temperature, the closer to greedy;
- beam search (`beam_size > 1`): keeps the `beam_size` most probable partial captions and
  returns, per image, the caption with the highest total log-probability.
The tokens <NULL> and <START> are never generated (they are not words), and every position
after a caption's <END> holds <NULL>.
"""

import numbers

import numpy as np

from helpers import layer_utils, rnn_layers
from helpers import layers as reference_layers
from helpers._checks import as_float_array, non_negative_number, positive_int

CELL_TYPES = ("rnn", "lstm")

# The layer functions the model calls, which a notebook may replace by a learner's own.
LAYER_NAMES = (
    "affine_forward", "affine_backward", "word_embedding_forward", "word_embedding_backward",
    "rnn_step_forward", "rnn_forward", "rnn_backward", "lstm_step_forward", "lstm_forward", "lstm_backward",
    "temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss",
)


def layer_table(overrides=None):
    """
    The layer functions CaptioningRNN runs: those of helpers.rnn_layers (and affine_forward /
    affine_backward of helpers.layers), some possibly replaced by `overrides` (name -> function),
    such as a learner's exercise functions.
    """
    return layer_utils.layer_table(overrides, LAYER_NAMES, (rnn_layers, reference_layers))


def _log_softmax(scores):
    """Row-wise log-softmax of scores (M, V), shifted by the row maximum so exp() stays finite."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class CaptioningRNN:
    """
    A CaptioningRNN produces captions from image features using a recurrent
    neural network.

    The RNN receives input vectors of size D, has a vocab size of V, works on
    sequences of length T, has an RNN hidden dimension of H, uses word vectors
    of dimension W, and operates on minibatches of size N.

    Note that we don't use any regularization for the CaptioningRNN.
    """

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128, cell_type="rnn",
                 dtype=np.float32, *, seed=None, layers=None):
        """
        Construct a new CaptioningRNN instance.

        Inputs:
        - word_to_idx: A dictionary giving the vocabulary. It contains V entries,
          and maps each string to a unique integer in the range [0, V). It must
          contain '<NULL>' (the padding the loss ignores); sample() also needs
          '<START>' and '<END>'.
        - input_dim: Dimension D of input image feature vectors.
        - wordvec_dim: Dimension W of word vectors.
        - hidden_dim: Dimension H for the hidden state of the RNN.
        - cell_type: What type of RNN to use; either 'rnn' or 'lstm'.
        - dtype: numpy datatype to use; use float32 for training and float64 for
          numeric gradient checking.
        - seed: If not None, the weights are drawn from np.random.default_rng(seed);
          with None they come from NumPy's global generator (seeded by np.random.seed,
          as in CS231n).
        - layers: Optional dict replacing layer functions by name (see layer_table),
          e.g. a learner's rnn_forward.
        """
        if cell_type not in CELL_TYPES:
            raise ValueError(f'Invalid cell_type "{cell_type}": use one of {CELL_TYPES}')
        if not isinstance(word_to_idx, dict) or not word_to_idx:
            raise ValueError(f"word_to_idx must be a non-empty dict mapping words to indices, got {word_to_idx!r}")
        for word, idx in word_to_idx.items():
            if isinstance(idx, bool) or not isinstance(idx, numbers.Integral) or idx < 0:
                raise ValueError(f"word_to_idx must map words to non-negative integers, got {word!r}: {idx!r}")
        vocab_size = len(word_to_idx)
        if "<NULL>" not in word_to_idx:
            raise ValueError("word_to_idx must contain the padding token '<NULL>' (the loss ignores it); "
                             f"got a vocabulary of {vocab_size} words without it")
        for token in ("<NULL>", "<START>", "<END>"):
            if token in word_to_idx and word_to_idx[token] >= vocab_size:
                raise ValueError(f"word_to_idx[{token!r}] must be an index in 0..{vocab_size - 1} "
                                 f"(a vocabulary of {vocab_size} words), got {word_to_idx[token]}")
        if np.dtype(dtype).kind != "f":
            raise ValueError(f"dtype must be a floating-point type such as np.float32, got {dtype!r}")

        self.cell_type = cell_type
        self.dtype = dtype
        self.word_to_idx = word_to_idx
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        self.vocab_size = vocab_size
        self.input_dim = positive_int("input_dim", input_dim)
        wordvec_dim = positive_int("wordvec_dim", wordvec_dim)
        hidden_dim = positive_int("hidden_dim", hidden_dim)
        self.layers = layer_table(layers)
        self.params = {}

        self._null = word_to_idx["<NULL>"]
        self._start = word_to_idx.get("<START>", None)
        self._end = word_to_idx.get("<END>", None)

        rng = np.random.default_rng(seed) if seed is not None else np.random
        # Initialize word vectors
        self.params["W_embed"] = rng.standard_normal((vocab_size, wordvec_dim)) / 100

        # Initialize CNN -> hidden state projection parameters
        self.params["W_proj"] = rng.standard_normal((input_dim, hidden_dim)) / np.sqrt(input_dim)
        self.params["b_proj"] = np.zeros(hidden_dim)

        # Initialize parameters for the RNN; the LSTM holds its four gates side by side.
        dim_mul = {"lstm": 4, "rnn": 1}[cell_type]
        self.params["Wx"] = rng.standard_normal((wordvec_dim, dim_mul * hidden_dim)) / np.sqrt(wordvec_dim)
        self.params["Wh"] = rng.standard_normal((hidden_dim, dim_mul * hidden_dim)) / np.sqrt(hidden_dim)
        self.params["b"] = np.zeros(dim_mul * hidden_dim)

        # Initialize output to vocab weights
        self.params["W_vocab"] = rng.standard_normal((hidden_dim, vocab_size)) / np.sqrt(hidden_dim)
        self.params["b_vocab"] = np.zeros(vocab_size)

        # Cast parameters to correct dtype
        for k, v in self.params.items():
            self.params[k] = v.astype(self.dtype)

    # ------------------------------------------------------------------ checks

    def _features(self, features):
        """Image features as an array of shape (N, input_dim) in the model's dtype."""
        features = as_float_array("features", features)
        if features.ndim != 2 or features.shape[1] != self.input_dim:
            raise ValueError(f"features must have shape (N, {self.input_dim}) (input_dim = {self.input_dim}), "
                             f"got {features.shape}")
        return features.astype(self.dtype, copy=False)

    def _captions(self, captions, N):
        """Captions as an int64 array (N, T) of word indices, T >= 2."""
        captions = rnn_layers.check_word_indices("captions", captions, self.vocab_size)
        if captions.shape[0] != N or captions.shape[1] < 2:
            raise ValueError(f"captions must have shape ({N}, T) with T >= 2 (one caption per image, a first "
                             f"word to read and a next word to predict), got {captions.shape}")
        return captions

    def _token(self, token, purpose):
        idx = self.word_to_idx.get(token)
        if idx is None:
            raise ValueError(f"{purpose} needs the token {token!r} in word_to_idx, but this vocabulary of "
                             f"{self.vocab_size} words has no {token!r}")
        return idx

    # ------------------------------------------------------------------ training

    def loss(self, features, captions):
        """
        Compute training-time loss for the RNN. We input image features and
        ground-truth captions for those images, and use an RNN (or LSTM) to compute
        loss and gradients on all parameters.

        Inputs:
        - features: Input image features, of shape (N, D)
        - captions: Ground-truth captions; an integer array of shape (N, T + 1) where
          each element is in the range 0 <= y[i, t] < V

        Returns a tuple of:
        - loss: Scalar loss
        - grads: Dictionary of gradients parallel to self.params
        """
        features = self._features(features)
        captions = self._captions(captions, features.shape[0])
        L = self.layers
        # Cut captions into two pieces: captions_in has everything but the last word
        # and will be input to the RNN; captions_out has everything but the first
        # word and this is what we will expect the RNN to generate. These are offset
        # by one relative to each other because the RNN should produce word (t+1)
        # after receiving word t. The first element of captions_in will be the START
        # token, and the first element of captions_out will be the first word.
        captions_in = captions[:, :-1]  # (N, T)
        captions_out = captions[:, 1:]  # (N, T)
        mask = captions_out != self._null  # (N, T): padding does not count

        p = self.params
        h0, proj_cache = L["affine_forward"](features, p["W_proj"], p["b_proj"])  # (N, H)
        x, embed_cache = L["word_embedding_forward"](captions_in, p["W_embed"])  # (N, T, W)
        h, rnn_cache = L[f"{self.cell_type}_forward"](x, h0, p["Wx"], p["Wh"], p["b"])  # (N, T, H)
        scores, vocab_cache = L["temporal_affine_forward"](h, p["W_vocab"], p["b_vocab"])  # (N, T, V)
        loss, dscores = L["temporal_softmax_loss"](scores, captions_out, mask)

        grads = {}
        dh, grads["W_vocab"], grads["b_vocab"] = L["temporal_affine_backward"](dscores, vocab_cache)
        dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = L[f"{self.cell_type}_backward"](dh, rnn_cache)
        grads["W_embed"] = L["word_embedding_backward"](dx, embed_cache)
        _, grads["W_proj"], grads["b_proj"] = L["affine_backward"](dh0, proj_cache)
        return loss, grads

    def hidden_gradient_norms(self, features, captions):
        """
        How far back in time the gradient of the last word's loss reaches (the vanishing
        gradient problem): the norm of the gradient of the cross-entropy of the last time
        step's prediction with respect to the hidden state h_t of every step t, averaged
        over the minibatch (see rnn_layers.hidden_gradient_norms).

        The last step counts whatever word it predicts, <NULL> included: what is measured
        is how the gradient travels, not what it teaches. Captions of full length make
        the plot easiest to read.

        Inputs:
        - features: Input image features, of shape (N, D)
        - captions: Captions, an integer array of shape (N, T + 1)

        Returns:
        - norms: Array of shape (T,); norms[t] is the mean norm of dloss_T / dh_t
        """
        features = self._features(features)
        captions = self._captions(captions, features.shape[0])
        p = self.params
        N = features.shape[0]
        h0 = features @ p["W_proj"] + p["b_proj"]  # (N, H)
        x = p["W_embed"][captions[:, :-1]]  # (N, T, W)
        forward = rnn_layers.rnn_forward if self.cell_type == "rnn" else rnn_layers.lstm_forward
        h, _ = forward(x, h0, p["Wx"], p["Wh"], p["b"])  # (N, T, H)
        # Gradient of the mean cross-entropy of the last step with respect to h_T.
        dscores = np.exp(_log_softmax(h[:, -1] @ p["W_vocab"] + p["b_vocab"]))  # (N, V)
        dscores[np.arange(N), captions[:, -1]] -= 1
        dh_last = dscores @ p["W_vocab"].T / N  # (N, H)
        return rnn_layers.hidden_gradient_norms(x, h0, p["Wx"], p["Wh"], p["b"], dh_last, self.cell_type)

    # ------------------------------------------------------------------ test time

    def _step(self, words, state):
        """
        One step of the recurrent network at test time: read `words` (M,) in state
        (h, c) ((M, H) each; c is None for the vanilla RNN).

        Returns:
        - log_probs: Log-probabilities of the next word, of shape (M, V)
        - state: The new (h, c)
        """
        p, L = self.params, self.layers
        prev_h, prev_c = state
        x = p["W_embed"][words]  # (M, W)
        if self.cell_type == "rnn":
            next_h, _ = L["rnn_step_forward"](x, prev_h, p["Wx"], p["Wh"], p["b"])
            next_c = None
        else:
            next_h, next_c, _ = L["lstm_step_forward"](x, prev_h, prev_c, p["Wx"], p["Wh"], p["b"])
        log_probs = _log_softmax(next_h @ p["W_vocab"] + p["b_vocab"])  # (M, V)
        # <NULL> and <START> are not words: never generate them.
        log_probs[:, [self._null, self._start]] = -np.inf
        return log_probs, (next_h, next_c)

    def sample(self, features, max_length=30, *, beam_size=1, temperature=0.0, rng=None):
        """
        Run a test-time forward pass for the model, sampling captions for input
        feature vectors.

        At each timestep, we embed the current word, pass it and the previous hidden
        state to the RNN to get the next hidden state, use the hidden state to get
        scores for all vocab words, and choose the next word: by default the word with
        the highest score (greedy), as in CS231n. The initial hidden state is computed
        by applying an affine transform to the input image features, and the initial
        word is the <START> token. A caption ends at its <END> token (kept in the
        output); the positions after it hold <NULL>.

        Inputs:
        - features: Array of input image features of shape (N, D).
        - max_length: Maximum length T of generated captions (a positive integer).
        - beam_size: (keyword) 1 for greedy decoding; B > 1 runs a beam search of width B
          and returns, for each image, the caption with the highest total log-probability
          (not normalized by length: the score is the model's probability of the whole
          caption).
        - temperature: (keyword) 0 for greedy decoding; t > 0 samples each word from
          softmax(scores / t): below 1 sharper, above 1 more varied. Cannot be combined
          with beam_size > 1.
        - rng: (keyword) Seed or np.random.Generator for temperature sampling; None
          draws fresh randomness.

        Returns:
        - captions: Array of shape (N, max_length) giving sampled captions,
          where each element is an integer in the range [0, V). The first element
          of captions should be the first sampled word, not the <START> token.
        """
        features = self._features(features)
        max_length = positive_int("max_length", max_length)
        beam_size = positive_int("beam_size", beam_size)
        temperature = non_negative_number("temperature", temperature)
        if beam_size > 1 and temperature > 0:
            raise ValueError(f"choose beam search (beam_size={beam_size}) or temperature sampling "
                             f"(temperature={temperature}), not both")
        self._token("<START>", "sample()")
        self._token("<END>", "sample()")

        h0 = features @ self.params["W_proj"] + self.params["b_proj"]  # (N, H)
        if beam_size > 1:
            return self._beam_search(h0, max_length, beam_size)
        generator = np.random.default_rng(rng) if temperature > 0 else None

        N = features.shape[0]
        captions = np.full((N, max_length), self._null, dtype=np.int64)
        words = np.full(N, self._start, dtype=np.int64)
        done = np.zeros(N, dtype=bool)
        state = (h0, np.zeros_like(h0) if self.cell_type == "lstm" else None)
        for t in range(max_length):
            log_probs, state = self._step(words, state)
            if generator is None:
                words = log_probs.argmax(axis=1)
            else:
                words = self._draw(log_probs, temperature, generator)
            words[done] = self._null
            captions[:, t] = words
            done |= words == self._end
            if done.all():
                break
        return captions

    @staticmethod
    def _draw(log_probs, temperature, generator):
        """One word per row, drawn from softmax(log_probs / temperature), by inverse CDF."""
        # Shift first so that the best word's scaled score is exactly 0 even for a tiny temperature.
        best = log_probs.max(axis=1, keepdims=True)
        probs = np.exp(_log_softmax((log_probs - best) / temperature))  # (M, V)
        cdf = np.cumsum(probs, axis=1)
        u = generator.random(len(probs))[:, None] * cdf[:, -1:]
        return np.minimum((cdf < u).sum(axis=1), probs.shape[1] - 1)

    def _beam_search(self, h0, max_length, beam_size):
        """Beam search from initial hidden states h0 (N, H); see sample()."""
        N, H = h0.shape
        B, V = beam_size, self.vocab_size
        rows = np.arange(N)[:, None]  # (N, 1)
        # Every image starts with one live hypothesis (score 0); the other B - 1 slots are
        # empty (score -inf) until the first expansion fills them.
        scores = np.full((N, B), -np.inf)
        scores[:, 0] = 0.0
        captions = np.full((N, B, max_length), self._null, dtype=np.int64)
        finished = np.zeros((N, B), dtype=bool)
        words = np.full(N * B, self._start, dtype=np.int64)
        h = np.repeat(h0, B, axis=0)  # (N*B, H)
        state = (h, np.zeros_like(h) if self.cell_type == "lstm" else None)
        for t in range(max_length):
            log_probs, state = self._step(words, state)  # (N*B, V)
            # A finished caption can only be extended by <NULL>, at no cost.
            log_probs[finished.reshape(-1)] = -np.inf
            log_probs[finished.reshape(-1), self._null] = 0.0
            candidates = (scores[:, :, None] + log_probs.reshape(N, B, V)).reshape(N, B * V)  # (N, B*V)
            # A stable sort keeps the first of equal scores, as greedy's argmax does.
            top = np.argsort(-candidates, axis=1, kind="stable")[:, :B]  # (N, B)
            parent, word = top // V, top % V
            scores = candidates[rows, top]
            captions = captions[rows, parent]  # (N, B, max_length)
            captions[:, :, t] = word
            finished = finished[rows, parent] | (word == self._end)
            flat_parent = (rows * B + parent).reshape(-1)  # (N*B,) rows of the state arrays
            state = tuple(s if s is None else s[flat_parent] for s in state)
            words = word.reshape(-1)
            if np.all(finished | ~np.isfinite(scores)):
                break
        best = scores.argmax(axis=1)  # (N,)
        return captions[np.arange(N), best]
