"""Tests of CaptioningRNN (helpers.classifiers.rnn) and CaptioningSolver (helpers.captioning_solver):
CS231n's published losses, numerical gradients, PyTorch autograd for the gradient-through-time
measurement, greedy / beam / temperature sampling, overfitting a tiny problem, gradient clipping,
the divergence stop, checkpoint resume and bad input. Data are small random dicts in the schema
of load_coco_data."""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers._checkpoint import CheckpointError
from helpers.captioning_solver import CaptioningSolver
from helpers.classifiers.rnn import CaptioningRNN
from helpers.gradient_check import eval_numerical_gradient, rel_error
from helpers.optim import TrainingDivergedError

CELLS = ["rnn", "lstm"]
NULL, START, END = 0, 1, 2


def vocabulary(V):
    """CS231n's layout: <NULL> 0, <START> 1, <END> 2, then words."""
    return {w: i for i, w in enumerate(["<NULL>", "<START>", "<END>"] + [f"w{i}" for i in range(V - 3)])}


def random_captions(rng, n, T, V):
    """n captions of T + 1 tokens: <START>, 1..T-1 words, <END>, <NULL> padding."""
    captions = np.full((n, T + 1), NULL, dtype=np.int32)
    for i in range(n):
        length = int(rng.integers(1, T))
        captions[i, 0] = START
        captions[i, 1:length + 1] = rng.integers(3, V, size=length)
        captions[i, length + 1] = END
    return captions


def random_data(seed=0, num_images=10, captions_per_image=1, T=8, V=12, D=6):
    rng = np.random.default_rng(seed)
    n = num_images * captions_per_image
    data = {"train_captions": random_captions(rng, n, T, V),
            "train_image_idxs": np.repeat(np.arange(num_images, dtype=np.int32), captions_per_image),
            "train_features": rng.standard_normal((num_images, D)).astype(np.float32),
            "val_captions": random_captions(rng, 4, T, V),
            "val_image_idxs": np.arange(4, dtype=np.int32),
            "val_features": rng.standard_normal((4, D)).astype(np.float32)}
    data["word_to_idx"] = vocabulary(V)
    data["idx_to_word"] = list(data["word_to_idx"])
    return data


def small_model(cell_type="rnn", V=12, D=6, seed=0, dtype=np.float64, **kwargs):
    return CaptioningRNN(vocabulary(V), input_dim=D, wordvec_dim=5, hidden_dim=7, cell_type=cell_type,
                         dtype=dtype, seed=seed, **kwargs)


def caption_log_probs(model, features, captions):
    """Log-probability of each sampled caption under the model (teacher forcing; <NULL> padding not scored)."""
    scores = []
    for feature, caption in zip(features, captions, strict=True):
        full = np.concatenate([[model._start], caption])[None]  # (1, max_length + 1)
        scores.append(-model.loss(feature[None], full)[0])
    return np.array(scores)


# ----------------------------------------------------------------------------- loss


@pytest.mark.parametrize("cell_type, feature_range, expected_loss", [
    ("rnn", (-1.5, 0.3), 9.83235591003),
    ("lstm", (-0.5, 1.7), 9.82445935443),
])
def test_linspace_model_loss_published_value(cell_type, feature_range, expected_loss):
    N, D, W, H = 10, 20, 30, 40
    word_to_idx = {"<NULL>": 0, "cat": 2, "dog": 3}  # CS231n's check vocabulary (no <START> / <END>)
    V = len(word_to_idx)
    T = 13
    model = CaptioningRNN(word_to_idx, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell_type,
                          dtype=np.float64)
    for k, v in model.params.items():
        model.params[k] = np.linspace(-1.4, 1.3, num=v.size).reshape(*v.shape)
    features = np.linspace(*feature_range, num=N * D).reshape(N, D)
    captions = (np.arange(N * T) % V).reshape(N, T)
    loss, _ = model.loss(features, captions)
    assert abs(loss - expected_loss) < 1e-10


def torch_captioning_loss(model, features, captions, last_step_only=False):
    """
    The model's loss with PyTorch autograd, written independently: the summed masked
    cross-entropy over N (or, with last_step_only, the mean cross-entropy of the last step).

    Returns the loss (a tensor, backward done), the parameter tensors, and every hidden state
    (their .grad retained).
    """
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in model.params.items()}
    H = p["Wh"].shape[0]
    captions = torch.tensor(captions, dtype=torch.long)
    h = torch.tensor(features, dtype=torch.float64) @ p["W_proj"] + p["b_proj"]
    c = torch.zeros_like(h)
    x = F.embedding(captions[:, :-1], p["W_embed"])
    hs = []
    for t in range(x.shape[1]):
        a = x[:, t] @ p["Wx"] + h @ p["Wh"] + p["b"]
        if model.cell_type == "rnn":
            h = torch.tanh(a)
        else:
            i, f, o = (torch.sigmoid(a[:, k * H:(k + 1) * H]) for k in range(3))
            c = f * c + i * torch.tanh(a[:, 3 * H:])
            h = o * torch.tanh(c)
        h.retain_grad()
        hs.append(h)
    if last_step_only:
        loss = F.cross_entropy(hs[-1] @ p["W_vocab"] + p["b_vocab"], captions[:, -1])
    else:
        scores = torch.stack(hs, dim=1) @ p["W_vocab"] + p["b_vocab"]  # (N, T, V)
        per_word = F.cross_entropy(scores.reshape(-1, scores.shape[-1]), captions[:, 1:].reshape(-1),
                                   ignore_index=model._null, reduction="sum")
        loss = per_word / len(captions)
    loss.backward()
    return loss, p, hs


@pytest.mark.parametrize("cell_type", CELLS)
def test_model_matches_torch_autograd(cell_type):
    model = small_model(cell_type, seed=1)
    model.params["W_embed"] *= 100  # word vectors of order 1: every gradient matters
    data = random_data(seed=1)
    features, captions = data["train_features"].astype(np.float64), data["train_captions"]
    loss, grads = model.loss(features, captions)
    tloss, tparams, _ = torch_captioning_loss(model, features, captions)
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    for name, grad in grads.items():
        np.testing.assert_allclose(grad, tparams[name].grad.numpy(), rtol=1e-9, atol=1e-13, err_msg=name)


@pytest.mark.parametrize("cell_type", CELLS)
def test_model_gradients_numerical(cell_type):
    rng = np.random.default_rng(231)
    V = 6
    captions = rng.integers(V, size=(2, 4))
    features = rng.standard_normal((2, 4))
    model = CaptioningRNN(vocabulary(V), input_dim=4, wordvec_dim=5, hidden_dim=6, cell_type=cell_type,
                          dtype=np.float64, seed=0)
    # Word vectors of order 1 (instead of 1/100): otherwise dWx is so small that the finite
    # differences' rounding, not the analytic gradient, decides the relative error.
    model.params["W_embed"] *= 100
    _, grads = model.loss(features, captions)
    assert set(grads) == set(model.params)
    for name in sorted(grads):
        num = eval_numerical_gradient(lambda _: model.loss(features, captions)[0], model.params[name],
                                      verbose=False, h=1e-5)
        assert rel_error(num, grads[name]) < 1e-5, name


def test_padding_does_not_count():
    model = small_model()
    features = np.random.default_rng(0).standard_normal((1, 6))
    short = np.array([[START, 4, END, NULL, NULL]])
    loss_short, _ = model.loss(features, short)
    loss_cut, _ = model.loss(features, short[:, :3])
    assert loss_short == pytest.approx(loss_cut, rel=1e-12)


def test_float32_model_computes_in_float32():
    model = small_model("lstm", dtype=np.float32)
    data = random_data()
    loss, grads = model.loss(data["train_features"].astype(np.float64), data["train_captions"])
    assert all(v.dtype == np.float32 for v in model.params.values())
    assert all(g.dtype == np.float32 for g in grads.values())
    assert np.isfinite(loss)


def test_weights_are_seeded():
    a, b = small_model(seed=3), small_model(seed=3)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    np.random.seed(231)  # seed=None draws from the global generator, as in CS231n
    c = small_model(seed=None)
    np.random.seed(231)
    d = small_model(seed=None)
    np.testing.assert_array_equal(c.params["Wx"], d.params["Wx"])


def test_layers_can_be_replaced():
    from helpers import rnn_layers

    calls = []

    def my_rnn_forward(x, h0, Wx, Wh, b):
        calls.append(x.shape)
        return rnn_layers.rnn_forward(x, h0, Wx, Wh, b)

    model = small_model(layers={"rnn_forward": my_rnn_forward})
    reference = small_model()
    data = random_data()
    loss, _ = model.loss(data["train_features"], data["train_captions"])
    assert calls == [(10, 8, 5)]
    assert loss == reference.loss(data["train_features"], data["train_captions"])[0]
    with pytest.raises(ValueError, match=r"layers can only replace .*unknown names \['conv_forward'\]"):
        small_model(layers={"conv_forward": my_rnn_forward})


# ----------------------------------------------------------------------------- gradient through time


@pytest.mark.parametrize("cell_type", CELLS)
def test_hidden_gradient_norms_match_autograd(cell_type):
    model = small_model(cell_type, seed=1)
    data = random_data(seed=1)
    features, captions = data["train_features"].astype(np.float64), data["train_captions"]
    norms = model.hidden_gradient_norms(features, captions)

    _, _, hs = torch_captioning_loss(model, features, captions, last_step_only=True)
    expected = np.array([h.grad.norm(dim=1).mean().item() for h in hs])
    np.testing.assert_allclose(norms, expected, rtol=1e-10)


# ----------------------------------------------------------------------------- sampling


@pytest.mark.parametrize("cell_type", CELLS)
def test_greedy_sample_format(cell_type):
    model = small_model(cell_type, seed=2)
    for k in model.params:
        model.params[k] = model.params[k] * 3  # sharper distributions: captions end early
    features = np.random.default_rng(0).standard_normal((20, 6))
    captions = model.sample(features, max_length=9)
    assert captions.shape == (20, 9) and captions.dtype.kind == "i"
    for caption in captions:
        ended = np.nonzero(caption == END)[0]
        words = caption if not len(ended) else caption[:ended[0]]
        assert not np.isin(words, [NULL, START]).any(), caption
        if len(ended):
            assert np.all(caption[ended[0] + 1:] == NULL), caption
    assert (captions == END).any(), "no caption ended: the test does not check the padding"


@pytest.mark.parametrize("cell_type", CELLS)
def test_beam_of_one_is_greedy(cell_type):
    model = small_model(cell_type, seed=3)
    features = np.random.default_rng(1).standard_normal((15, 6))
    np.testing.assert_array_equal(model.sample(features, max_length=7, beam_size=1), model.sample(features, 7))


@pytest.mark.parametrize("cell_type", CELLS)
def test_wide_beam_finds_the_most_probable_caption(cell_type):
    # 3 words and <END>, captions of at most 3 tokens: a beam of 40 keeps every hypothesis,
    # so it must return the best of all 3 + 9 + 27 + 27 possible captions.
    V, max_length = 6, 3
    model = small_model(cell_type, V=V, seed=4)
    for k in model.params:
        model.params[k] = model.params[k] * 2
    features = np.random.default_rng(2).standard_normal((3, 6))
    choices = [END, 3, 4, 5]
    candidates = []
    for length in range(1, max_length + 1):
        for words in itertools.product(choices, repeat=length):
            if END in words[:-1] or (length < max_length and words[-1] != END):
                continue
            candidates.append(list(words) + [NULL] * (max_length - length))
    candidates = np.array(candidates)
    beam = model.sample(features, max_length=max_length, beam_size=40)
    for i, feature in enumerate(features):
        scores = caption_log_probs(model, np.repeat(feature[None], len(candidates), axis=0), candidates)
        np.testing.assert_array_equal(beam[i], candidates[np.argmax(scores)])


def test_beam_search_scores_better_than_greedy_on_average():
    # Beam search is a heuristic: it can prune the greedy caption's prefix and end below it
    # (about 1 caption in 1000 on random models), so the claim is on the total.
    features = np.random.default_rng(5).standard_normal((10, 6))
    greedy_total = beam_total = 0.0
    better = worse = 0
    for seed, cell_type in itertools.product(range(4), CELLS):
        model = small_model(cell_type, seed=seed)
        for k in model.params:
            model.params[k] = model.params[k] * 3
        greedy = caption_log_probs(model, features, model.sample(features, max_length=6))
        beam = caption_log_probs(model, features, model.sample(features, max_length=6, beam_size=3))
        greedy_total += greedy.sum()
        beam_total += beam.sum()
        better += np.sum(beam > greedy + 1e-9)
        worse += np.sum(beam < greedy - 1e-9)
    assert beam_total > greedy_total
    assert better > 10 * worse


@pytest.mark.parametrize("cell_type", CELLS)
def test_low_temperature_is_greedy(cell_type):
    model = small_model(cell_type, seed=6)
    features = np.random.default_rng(3).standard_normal((15, 6))
    np.testing.assert_array_equal(model.sample(features, max_length=7, temperature=1e-8, rng=0),
                                  model.sample(features, max_length=7))


def test_temperature_sampling_is_seeded():
    model = small_model("lstm", seed=7)
    features = np.random.default_rng(4).standard_normal((30, 6))
    a = model.sample(features, max_length=8, temperature=1.0, rng=123)
    b = model.sample(features, max_length=8, temperature=1.0, rng=np.random.default_rng(123))
    c = model.sample(features, max_length=8, temperature=1.0, rng=124)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_temperature_sampling_follows_the_model_distribution():
    model = small_model("rnn", seed=8)
    feature = np.random.default_rng(5).standard_normal((1, 6))
    features = np.repeat(feature, 4000, axis=0)
    first = model.sample(features, max_length=1, temperature=1.0, rng=0)[:, 0]
    # The model's distribution of the first word, from the loss of every one-word caption.
    words = np.arange(2, 12)
    logp = caption_log_probs(model, features[:len(words)], words[:, None])
    expected = np.exp(logp) / np.exp(logp).sum()  # <NULL> and <START> are never drawn: renormalize
    observed = np.array([np.mean(first == w) for w in words])
    np.testing.assert_allclose(observed, expected, atol=0.025)


# ----------------------------------------------------------------------------- training


@pytest.mark.parametrize("cell_type", CELLS)
def test_overfits_a_tiny_captioning_problem(cell_type):
    data = random_data(seed=9, num_images=10, T=10, V=20, D=16)
    model = CaptioningRNN(data["word_to_idx"], input_dim=16, wordvec_dim=16, hidden_dim=32, cell_type=cell_type,
                          seed=0)
    solver = CaptioningSolver(model, data, update_rule="adam", optim_config={"learning_rate": 2e-2},
                              num_epochs=100, batch_size=10, verbose=False, seed=0)
    solver.train()
    assert solver.loss_history[-1] < 0.1
    sampled = model.sample(data["train_features"], max_length=10)
    np.testing.assert_array_equal(sampled, data["train_captions"][:, 1:])


def test_minibatches_are_seeded():
    data = random_data()
    histories = []
    for seed in (0, 0, 1):
        solver = CaptioningSolver(small_model(), data, update_rule="adam", num_epochs=2, batch_size=4,
                                  verbose=False, seed=seed)
        solver.train()
        histories.append(solver.loss_history)
    assert histories[0] == histories[1] and histories[0] != histories[2]


def test_gradient_clipping_limits_the_step():
    data = random_data()
    norms = {}
    for clip in (None, 0.05):
        model = small_model()
        before = {k: v.copy() for k, v in model.params.items()}
        solver = CaptioningSolver(model, data, optim_config={"learning_rate": 1.0}, num_epochs=1, batch_size=10,
                                  verbose=False, seed=0, grad_clip=clip)
        solver.train()
        step = np.sqrt(sum(np.sum((model.params[k] - before[k]) ** 2) for k in before))
        norms[clip] = (step, solver.grad_norm_history[0])
    (step_free, grad_norm), (step_clipped, grad_norm_clipped) = norms[None], norms[0.05]
    assert grad_norm == grad_norm_clipped > 0.05  # the history keeps the norm before clipping
    assert step_free == pytest.approx(grad_norm, rel=1e-9)
    assert step_clipped == pytest.approx(0.05, rel=1e-4)


class FlakyModel:
    """A model whose loss (or gradient) becomes NaN at one call."""

    def __init__(self, model, bad_call, what="loss"):
        self.model, self.bad_call, self.what, self.calls = model, bad_call, what, 0
        self.params, self.vocab_size, self.input_dim = model.params, model.vocab_size, model.input_dim

    def loss(self, features, captions):
        self.calls += 1
        loss, grads = self.model.loss(features, captions)
        if self.calls == self.bad_call:
            if self.what == "loss":
                loss = float("nan")
            else:
                grads["Wh"] = grads["Wh"] * np.inf
        return loss, grads


@pytest.mark.parametrize("what, message", [("loss", "the loss became nan"),
                                           ("gradient", "the gradient norm became (nan|inf)")])
def test_divergence_stops_training_and_names_the_iteration(what, message):
    model = FlakyModel(small_model(), bad_call=3, what=what)
    solver = CaptioningSolver(model, random_data(), update_rule="adam", num_epochs=2, batch_size=4, verbose=False,
                              seed=0)
    snapshot = {}

    original = model.loss

    def watched(features, captions):
        if model.calls == 2:
            snapshot.update({k: v.copy() for k, v in model.params.items()})
        return original(features, captions)

    model.loss = watched
    with pytest.raises(TrainingDivergedError, match=rf"{message} at iteration 3 of 4 \(epoch 2\)"):
        solver.train()
    assert solver.iteration == 2 and len(solver.loss_history) == 2
    for k, v in snapshot.items():
        np.testing.assert_array_equal(model.params[k], v)  # the diverging step made no update


@pytest.mark.parametrize("cell_type", CELLS)
def test_resume_continues_bit_for_bit(tmp_path, cell_type):
    data = random_data()
    options = dict(update_rule="adam", optim_config={"learning_rate": 1e-2}, lr_decay=0.9, batch_size=3,
                   verbose=False, seed=5, grad_clip=1.0)
    straight = small_model(cell_type)
    solver = CaptioningSolver(straight, data, num_epochs=4, **options)
    solver.train()

    first = small_model(cell_type)
    CaptioningSolver(first, data, num_epochs=2, checkpoint_name=str(tmp_path / "run"), **options).train()
    resumed_model = small_model(cell_type, seed=99)  # other weights: the checkpoint must replace them
    resumed = CaptioningSolver(resumed_model, data, num_epochs=4, resume_from=tmp_path / "run_epoch_2.npz",
                               **options)
    assert resumed.iteration == 2 * resumed.iterations_per_epoch
    resumed.train()
    assert resumed.loss_history == solver.loss_history
    assert resumed.grad_norm_history == solver.grad_norm_history
    for k in straight.params:
        np.testing.assert_array_equal(resumed_model.params[k], straight.params[k])
    assert resumed.optim_configs["Wx"]["learning_rate"] == solver.optim_configs["Wx"]["learning_rate"]


def test_resume_refuses_a_checkpoint_that_does_not_fit(tmp_path):
    data = random_data()
    solver = CaptioningSolver(small_model(), data, update_rule="adam", num_epochs=1, batch_size=3, verbose=False,
                              seed=0)
    solver.train()
    path = solver.save_checkpoint(tmp_path / "ck.npz")

    model = small_model(seed=1)
    before = {k: v.copy() for k, v in model.params.items()}
    with pytest.raises(CheckpointError, match=r"batch_size is 5 here but 3 in the checkpoint"):
        CaptioningSolver(model, data, update_rule="adam", batch_size=5, verbose=False, resume_from=path)
    bigger = CaptioningRNN(vocabulary(12), input_dim=6, wordvec_dim=5, hidden_dim=8, dtype=np.float64, seed=1)
    with pytest.raises(CheckpointError, match=r"params/Wh has shape \(7, 7\) in the checkpoint but \(8, 8\) in "
                                              r"the model"):
        CaptioningSolver(bigger, data, update_rule="adam", batch_size=3, verbose=False, resume_from=path)
    for k, v in before.items():
        np.testing.assert_array_equal(model.params[k], v)  # all or nothing

    (tmp_path / "junk.npz").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt"):
        CaptioningSolver(small_model(), data, batch_size=3, verbose=False, resume_from=tmp_path / "junk.npz")


# ----------------------------------------------------------------------------- bad input


def test_captions_outside_the_vocabulary_are_refused():
    model = small_model()
    with pytest.raises(ValueError, match=r"captions must hold word indices in 0\.\.11 \(a vocabulary of 12 "
                                         r"words\), got values in 1\.\.12"):
        model.loss(np.zeros((1, 6)), np.array([[START, 12, END]]))
    data = random_data()
    data["train_captions"][0, 1] = 40
    with pytest.raises(ValueError, match=r"data\['train_captions'\] must hold word indices in 0\.\.11"):
        CaptioningSolver(model, data)


def test_features_of_the_wrong_dimension_are_refused():
    model = small_model()
    with pytest.raises(ValueError, match=r"features must have shape \(N, 6\) \(input_dim = 6\), got \(2, 5\)"):
        model.loss(np.zeros((2, 5)), np.zeros((2, 3), dtype=int))
    with pytest.raises(ValueError, match=r"features must have shape \(N, 6\)"):
        model.sample(np.zeros((2, 5)))
    data = random_data(D=5)
    with pytest.raises(ValueError, match=r"data\['train_features'\] must have shape \(N_img, 6\) to match the "
                                         r"model's input_dim, got \(10, 5\)"):
        CaptioningSolver(model, data)


def test_captions_without_a_step_are_refused():
    with pytest.raises(ValueError, match=r"captions must have shape \(2, T\) with T >= 2.*got \(2, 1\)"):
        small_model().loss(np.zeros((2, 6)), np.zeros((2, 1), dtype=int))
    with pytest.raises(ValueError, match=r"captions must have shape \(2, T\).*got \(3, 4\)"):
        small_model().loss(np.zeros((2, 6)), np.zeros((3, 4), dtype=int))


def test_max_length_below_one_is_refused():
    with pytest.raises(ValueError, match=r"max_length must be a positive integer, got 0"):
        small_model().sample(np.zeros((1, 6)), max_length=0)


@pytest.mark.parametrize("kwargs, match", [
    ({"beam_size": 0}, r"beam_size must be a positive integer, got 0"),
    ({"temperature": -1.0}, r"temperature must be a finite number >= 0, got -1.0"),
    ({"beam_size": 3, "temperature": 0.5}, r"choose beam search \(beam_size=3\) or temperature sampling"),
])
def test_bad_sampling_options_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        small_model().sample(np.zeros((1, 6)), **kwargs)


def test_vocabulary_without_special_tokens_is_refused():
    with pytest.raises(ValueError, match=r"word_to_idx must contain the padding token '<NULL>'"):
        CaptioningRNN({"<START>": 0, "<END>": 1, "cat": 2}, input_dim=4)
    for missing in ("<START>", "<END>"):
        word_to_idx = {w: i for i, w in enumerate(w for w in ("<NULL>", "<START>", "<END>", "cat") if w != missing)}
        model = CaptioningRNN(word_to_idx, input_dim=4)
        model.loss(np.zeros((1, 4)), np.array([[0, 1, 2]]))  # training does not need it
        with pytest.raises(ValueError, match=rf"sample\(\) needs the token '{missing}' in word_to_idx, but this "
                                             rf"vocabulary of 3 words has no '{missing}'"):
            model.sample(np.zeros((1, 4)))


def test_bad_model_options_are_refused():
    with pytest.raises(ValueError, match=r'Invalid cell_type "gru"'):
        small_model("gru")
    with pytest.raises(ValueError, match=r"word_to_idx\['<END>'\] must be an index in 0\.\.2"):
        CaptioningRNN({"<NULL>": 0, "<START>": 1, "<END>": 7}, input_dim=4)
    with pytest.raises(ValueError, match=r"dtype must be a floating-point type"):
        small_model(dtype=np.int32)


@pytest.mark.parametrize("change, match", [
    (lambda d: d.pop("train_image_idxs"), r"data is missing \['train_image_idxs'\]"),
    (lambda d: d.pop("val_features"), r"data is missing \['val_features'\] \(it has other val_ keys\)"),
    (lambda d: d.__setitem__("train_image_idxs", np.arange(10) + 1),
     r"data\['train_image_idxs'\] must index the 10 rows of data\['train_features'\], got values in 1\.\.10"),
    (lambda d: d.__setitem__("train_image_idxs", np.arange(9)),
     r"data\['train_image_idxs'\] must be an integer array of shape \(10,\)"),
    (lambda d: d.__setitem__("train_captions", d["train_captions"][:, :1]),
     r"data\['train_captions'\] must have shape \(N, T\) with N >= 1 and T >= 2"),
])
def test_bad_data_is_refused(change, match):
    data = random_data()
    change(data)
    with pytest.raises(ValueError, match=match):
        CaptioningSolver(small_model(), data)


@pytest.mark.parametrize("kwargs, match", [
    ({"grad_clip": 0}, r"grad_clip must be a positive number, got 0"),
    ({"batch_size": 0}, r"batch_size must be a positive integer, got 0"),
    ({"lr_decay": 1.5}, r"lr_decay must be in \(0, 1\], got 1.5"),
    ({"update_rule": "adamw"}, r"Invalid update_rule 'adamw'"),
    ({"learning_rate": 1e-3}, r"Unrecognized arguments \['learning_rate'\]"),
])
def test_bad_solver_options_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CaptioningSolver(small_model(), random_data(), **kwargs)
