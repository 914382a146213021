"""Transformer layers, the CaptioningTransformer, the Vision Transformer and their solvers.

- CS231n's published check values (the 2026 release, computed in eval mode) with their seeded set-ups;
- PyTorch as an independent oracle: nn.MultiheadAttention, nn.TransformerEncoderLayer and
  nn.TransformerDecoderLayer with the same weights, and F.scaled_dot_product_attention;
- masks, the positional encoding formula, shapes, attention weights, overfitting a tiny captioning set,
  a ViT's loss going down, and one test per bad input.
CUDA tests run when there is a GPU and are skipped, with the reason, when not.
"""

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from helpers.captioning_solver_transformer import CaptioningSolverTransformer
from helpers.classification_solver_vit import (
    VIT_CIFAR10_MODEL,
    VIT_CIFAR10_TRAINING,
    ClassificationSolverViT,
    build_vit_cifar10,
    train_comparison_cnn,
)
from helpers.classifiers.transformer import CaptioningTransformer, VisionTransformer
from helpers.gradient_check import rel_error
from helpers.transformer_layers import (
    MultiHeadAttention,
    PatchEmbedding,
    PositionalEncoding,
    TransformerDecoderLayer,
    TransformerEncoderLayer,
    multi_head_attention_naive,
    multi_head_attention_sdpa,
)

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")),
]


@pytest.fixture(autouse=True)
def one_thread():
    """These tensors are tiny: intra-op threads only add synchronization, a lot of it on a busy CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _to_numpy(x):
    return x.detach().cpu().numpy()


# ----------------------------------------------------------------------------- CS231n's published values
# Transformer_Captioning.ipynb, 2026 release: every layer in eval mode, so no dropout mask is involved
# and the values reproduce on any current torch build. The tolerances are the notebook's.


def test_multi_head_attention_matches_cs231n():
    torch.manual_seed(231)
    attn = MultiHeadAttention(8, num_heads=2)
    attn.eval()
    data = torch.randn(1, 3, 8)
    self_attn_output = attn(query=data, key=data, value=data)
    mask = torch.randn(3, 3) < 0.5
    masked_self_attn_output = attn(query=data, key=data, value=data, attn_mask=mask)
    other_data = torch.randn(1, 3, 8)
    attn_output = attn(query=data, key=other_data, value=other_data)

    expected_self_attn_output = np.asarray([[
        [-0.1030, 0.2090, 0.7481, -0.4116, -0.2772, 0.2357, -0.2740, -0.2798],
        [-0.1794, 0.1637, 0.6930, -0.3435, -0.2300, 0.2457, -0.2504, -0.2323],
        [-0.1861, 0.1567, 0.6677, -0.3078, -0.2731, 0.2302, -0.2714, -0.2082]]])
    expected_masked_self_attn_output = np.asarray([[
        [-0.1209, 0.1806, 0.8056, -0.4654, -0.2262, 0.2552, -0.2544, -0.2812],
        [-0.2374, 0.1183, 0.7423, -0.3777, -0.1460, 0.2716, -0.2213, -0.2077],
        [-0.0851, 0.2423, 0.7941, -0.3778, -0.4924, 0.1512, -0.4241, -0.1740]]])
    expected_attn_output = np.asarray([[
        [-0.1965, 0.0702, 0.5227, -0.1388, -0.3530, 0.2163, -0.2643, -0.1902],
        [-0.3592, -0.0899, 0.5836, 0.0029, -0.3643, 0.2667, -0.1973, -0.1698],
        [-0.3795, 0.0433, 0.5634, -0.0749, -0.4379, 0.2714, -0.2207, -0.1980]]])
    assert rel_error(expected_self_attn_output, _to_numpy(self_attn_output)) < 7e-3
    assert rel_error(expected_masked_self_attn_output, _to_numpy(masked_self_attn_output)) < 7e-3
    assert rel_error(expected_attn_output, _to_numpy(attn_output)) < 7e-3


def test_positional_encoding_matches_cs231n():
    torch.manual_seed(231)
    data = torch.randn(1, 2, 6)
    pos_encoder = PositionalEncoding(6)
    pos_encoder.eval()
    output = pos_encoder(data)
    expected_pe_output = np.asarray([[[-1.1106, 1.0014, 1.5280, -0.0778, -0.6964, 1.1455],
                                      [0.8125, -0.4303, 0.4981, 0.7320, 1.1380, 1.5331]]])
    assert rel_error(expected_pe_output, _to_numpy(output)) < 1e-3


def test_decoder_layer_matches_cs231n():
    torch.manual_seed(231)
    np.random.seed(231)
    N, T, TM, D = 1, 4, 5, 12
    decoder_layer = TransformerDecoderLayer(D, 2, 4 * D)
    decoder_layer.eval()
    tgt = torch.randn(N, T, D)
    memory = torch.randn(N, TM, D)
    tgt_mask = torch.randn(T, T) < 0.5
    output = decoder_layer(tgt, memory, tgt_mask)
    expected_output = np.asarray([[
        [0.27005595, -0.21056601, 0.63376445, -0.35391954, 0.60071295, -1.7566615, -0.1314159, -1.7659538,
         -0.5575517, 0.680143, 1.8622686, 0.7291234],
        [-0.6080135, 0.4421802, -0.07590749, -0.12093157, 0.94722354, -1.0223433, 0.47332686, -1.3958666,
         2.1890075, -1.0380646, 0.9437816, -0.7343922],
        [-0.89690155, 0.60447216, 0.10688882, 0.03492759, 1.8388084, -0.9772293, 0.7621334, -0.668234,
         1.3260399, -1.8417019, 0.21718435, -0.506388],
        [-0.70961505, -0.02918372, -0.39894593, -0.8069395, 0.04967685, 0.29345992, 0.7871747, -1.3172938,
         1.4744806, 1.2633642, 1.1611108, -1.767289]]])
    assert rel_error(expected_output, _to_numpy(output)) < 1e-6


def test_captioning_transformer_matches_cs231n():
    torch.manual_seed(231)
    np.random.seed(231)
    N, D, W = 4, 20, 30
    word_to_idx = {"<NULL>": 0, "cat": 2, "dog": 3}
    V = len(word_to_idx)
    transformer = CaptioningTransformer(word_to_idx, input_dim=D, wordvec_dim=W, num_heads=2, num_layers=2,
                                        max_length=30)
    transformer.eval()
    features = torch.randn(N, D)
    captions = torch.randint(0, V, (N, 3))
    scores = transformer(features, captions)
    expected_scores = np.asarray([
        [[0.62165695, -0.6203744, -1.116114], [0.6641097, -0.60309553, -1.3479083],
         [0.62117404, -0.79205745, -1.1095243]],
        [[0.62160987, -0.6214724, -1.1171186], [0.6093992, -0.61166143, -1.3365762],
         [0.62108713, -0.79322916, -1.1104958]],
        [[0.6406587, -0.57419956, -1.1300566], [0.6075228, -0.60872054, -1.3372457],
         [0.6471472, -0.8270494, -1.1064028]],
        [[0.64029807, -0.5755552, -1.1284486], [0.60708034, -0.6099963, -1.3356377],
         [0.59367496, -0.8346836, -1.0914496]]])
    assert rel_error(expected_scores, _to_numpy(scores)) < 1e-5


def test_patch_embedding_matches_cs231n():
    torch.manual_seed(231)
    np.random.seed(231)
    patch_embedding = PatchEmbedding(img_size=16, patch_size=8, embed_dim=8)
    x = torch.randn(2, 3, 16, 16)
    output = patch_embedding(x)
    expected_output = np.asarray([
        [[-0.6312704, 0.02531429, 0.6112642, -0.49089882, 0.01412961, -0.6959372, -0.32862484, -0.45402682],
         [0.18816411, -0.08142513, -0.9829535, -0.23975623, -0.23109074, 0.97950286, -0.40997326, 0.7457837],
         [0.01810865, 0.15780598, -0.91804236, 0.36185235, 0.8379501, 1.0191797, -0.29667392, 0.20322265],
         [-0.18697818, -0.45137224, -0.40339014, -1.4381214, -0.43450755, 0.7651071, -0.83683825, -0.16360264]],
        [[-0.39786366, 0.16201034, -0.19008337, -1.0602452, -0.28693503, 0.09791763, 0.26614824, 0.41781986],
         [0.35146567, -0.4469593, -0.1841726, 0.45757473, -0.61304873, -0.29104248, -0.16124889, -0.14987172],
         [-0.2996967, 0.27353522, -0.09929767, 0.01973832, -1.2312065, -0.6374332, -0.22963578, 0.55696607],
         [-0.93818814, 0.02465284, -0.21117875, 1.1860403, -0.06137538, -0.21062079, -0.094347, 0.50032747]]])
    assert rel_error(expected_output, _to_numpy(output)) < 1e-4


def test_encoder_layer_matches_cs231n():
    torch.manual_seed(231)
    np.random.seed(231)
    N, T, D = 1, 4, 12
    encoder_layer = TransformerEncoderLayer(D, 2, 4 * D)
    encoder_layer.eval()
    x = torch.randn(N, T, D)
    x_mask = torch.randn(T, T) < 0.5
    output = encoder_layer(x, x_mask)
    expected_output = np.asarray([[
        [-0.48887438, -0.16470742, 0.7249629, -1.0907345, 1.5764195, 0.17484017, 0.8643941, -0.5209561,
         -1.6651545, -1.1943513, 1.4809005, 0.30326116],
        [-0.14663944, 1.052812, -0.96227, -0.20350897, -2.1478589, 1.2637341, 0.04015125, -0.945255,
         1.408903, -0.43051198, 0.37110543, 0.69933903],
        [0.08718029, 0.91050833, -1.208469, 1.1440394, -1.9794976, -0.38342738, -0.47407156, -0.17345548,
         0.11738186, 1.9534125, 0.3525986, -0.3461999],
        [-0.81389004, 0.76213264, -0.7094313, -1.5332246, 1.3837544, 0.4091982, 0.6569406, 0.7305365,
         -1.197077, -1.3698943, 0.58292854, 1.0980265]]])
    assert rel_error(expected_output, _to_numpy(output)) < 1e-6


def test_vision_transformer_matches_cs231n():
    torch.manual_seed(231)
    np.random.seed(231)
    imgs = torch.randn(3, 3, 32, 32)
    transformer = VisionTransformer()
    transformer.eval()
    scores = transformer(imgs)
    expected_scores = np.asarray([
        [-0.15802915, 0.15734261, -0.06002094, -0.1860142, -0.09376919, -0.08837911, 0.16224845, 0.0168601,
         0.20606893, 0.13079852],
        [-0.12838936, 0.20798579, -0.0620573, -0.11705838, -0.14088857, -0.11387511, 0.18839046, 0.03078492,
         0.17386372, 0.06414902],
        [-0.09435399, 0.20495278, -0.03362986, -0.12232997, -0.15535004, -0.10380758, 0.21114832, 0.03481449,
         0.18798208, 0.12231653]])
    assert rel_error(expected_scores, _to_numpy(scores)) < 1e-6


# ----------------------------------------------------------------------------- PyTorch as the oracle


def _torch_mha_from(attn):
    """nn.MultiheadAttention holding the same weights as our MultiHeadAttention."""
    E, H = attn.emd_dim, attn.n_head
    oracle = nn.MultiheadAttention(E, H, dropout=0.0, batch_first=True)
    with torch.no_grad():
        oracle.in_proj_weight.copy_(torch.cat([attn.query.weight, attn.key.weight, attn.value.weight]))
        oracle.in_proj_bias.copy_(torch.cat([attn.query.bias, attn.key.bias, attn.value.bias]))
        oracle.out_proj.weight.copy_(attn.proj.weight)
        oracle.out_proj.bias.copy_(attn.proj.bias)
    return oracle.eval()


@pytest.mark.parametrize("masked", [False, True])
def test_multi_head_attention_matches_torch(masked):
    torch.manual_seed(0)
    N, S, T, E, H = 3, 5, 7, 12, 3
    attn = MultiHeadAttention(E, H).eval()
    query, key, value = torch.randn(N, S, E), torch.randn(N, T, E), torch.randn(N, T, E)
    mask = torch.rand(S, T) < 0.6 if masked else None
    if masked:
        mask[:, 0] = True                                    # every query keeps at least one key
    out, weights = attn(query, key, value, attn_mask=mask, need_weights=True)
    # torch's boolean mask marks the keys a query may NOT attend to: the opposite convention.
    expected, expected_weights = _torch_mha_from(attn)(query, key, value, attn_mask=None if mask is None else ~mask,
                                                       average_attn_weights=False)
    assert rel_error(_to_numpy(out), _to_numpy(expected)) < 1e-5
    assert torch.allclose(weights, expected_weights, atol=1e-6)
    # The same computation one head at a time, and through scaled_dot_product_attention.
    assert torch.allclose(multi_head_attention_naive(attn, query, key, value, mask), out, atol=1e-6)
    assert torch.allclose(multi_head_attention_sdpa(attn, query, key, value, mask), out, atol=1e-6)


def test_one_head_is_scaled_dot_product_attention():
    torch.manual_seed(1)
    attn = MultiHeadAttention(8, 1).eval()
    x = torch.randn(2, 6, 8)
    q, k, v = attn.query(x), attn.key(x), attn.value(x)
    causal = torch.ones(6, 6, dtype=torch.bool).tril()
    expected = attn.proj(F.scaled_dot_product_attention(q, k, v, attn_mask=causal))
    assert torch.allclose(attn(x, x, x, attn_mask=causal), expected, atol=1e-6)


def _copy_ffn_and_norms(ours, theirs, pairs):
    with torch.no_grad():
        theirs.linear1.weight.copy_(ours.ffn.fc1.weight)
        theirs.linear1.bias.copy_(ours.ffn.fc1.bias)
        theirs.linear2.weight.copy_(ours.ffn.fc2.weight)
        theirs.linear2.bias.copy_(ours.ffn.fc2.bias)
        for mine, torch_norm in pairs:
            torch_norm.weight.copy_(mine.weight)
            torch_norm.bias.copy_(mine.bias)


def test_encoder_layer_matches_torch():
    torch.manual_seed(2)
    D, H, F_ = 16, 4, 24
    ours = TransformerEncoderLayer(D, H, F_).eval()
    theirs = nn.TransformerEncoderLayer(D, H, F_, dropout=0.0, activation="gelu", batch_first=True).eval()
    theirs.self_attn = _torch_mha_from(ours.self_attn)
    _copy_ffn_and_norms(ours, theirs, [(ours.norm_self, theirs.norm1), (ours.norm_ffn, theirs.norm2)])
    x = torch.randn(2, 9, D)
    mask = torch.ones(9, 9, dtype=torch.bool).tril()
    with torch.no_grad():
        assert torch.allclose(ours(x, mask), theirs(x, src_mask=~mask), atol=1e-5)


def test_decoder_layer_matches_torch():
    torch.manual_seed(3)
    D, H, F_ = 16, 2, 32
    ours = TransformerDecoderLayer(D, H, F_).eval()
    theirs = nn.TransformerDecoderLayer(D, H, F_, dropout=0.0, activation="gelu", batch_first=True).eval()
    theirs.self_attn = _torch_mha_from(ours.self_attn)
    theirs.multihead_attn = _torch_mha_from(ours.cross_attn)
    _copy_ffn_and_norms(ours, theirs, [(ours.norm_self, theirs.norm1), (ours.norm_cross, theirs.norm2),
                                       (ours.norm_ffn, theirs.norm3)])
    tgt, memory = torch.randn(3, 6, D), torch.randn(3, 4, D)
    mask = torch.ones(6, 6, dtype=torch.bool).tril()
    with torch.no_grad():
        assert torch.allclose(ours(tgt, memory, mask), theirs(tgt, memory, tgt_mask=~mask), atol=1e-5)


def test_patch_embedding_is_a_strided_convolution():
    """Flattening C x p x p patches and projecting them is a convolution with kernel and stride p."""
    torch.manual_seed(4)
    embed = PatchEmbedding(img_size=12, patch_size=4, in_channels=3, embed_dim=5)
    x = torch.randn(2, 3, 12, 12)
    weight = embed.proj.weight.reshape(5, 3, 4, 4)
    expected = F.conv2d(x, weight, embed.proj.bias, stride=4).flatten(2).transpose(1, 2)  # (N, 9, 5)
    assert torch.allclose(embed(x), expected, atol=1e-5)


# ----------------------------------------------------------------------------- masks and encodings


def test_masked_positions_get_no_weight():
    torch.manual_seed(5)
    attn = MultiHeadAttention(8, 2).eval()
    x = torch.randn(2, 5, 8)
    causal = torch.ones(5, 5, dtype=torch.bool).tril()
    _, weights = attn(x, x, x, attn_mask=causal, need_weights=True)          # (N, H, S, T)
    assert torch.all(weights[..., ~causal] == 0)
    assert torch.allclose(weights.sum(dim=-1), torch.ones(2, 2, 5))
    # A 0/1 integer mask means the same as the boolean one.
    assert torch.allclose(attn(x, x, x, attn_mask=causal.int()), attn(x, x, x, attn_mask=causal))


def test_future_words_do_not_change_earlier_scores():
    torch.manual_seed(6)
    model = _tiny_captioner().eval()
    features = torch.randn(2, 12)
    captions = torch.randint(0, len(WORD_TO_IDX), (2, 6))
    changed = captions.clone()
    changed[:, 4:] = (changed[:, 4:] + 1) % len(WORD_TO_IDX)
    with torch.no_grad():
        assert torch.allclose(model(features, captions)[:, :4], model(features, changed)[:, :4], atol=1e-6)
        assert not torch.allclose(model(features, captions)[:, 4:], model(features, changed)[:, 4:])


def test_positional_encoding_formula():
    d, L = 10, 7
    pe = PositionalEncoding(d, dropout=0.0, max_len=L)
    i = np.arange(L)[:, None]
    j = np.arange(d)[None, :]
    even = np.sin(i * 10000.0 ** (-j / d))
    odd = np.cos(i * 10000.0 ** (-(j - 1) / d))
    expected = np.where(j % 2 == 0, even, odd)
    out = pe(torch.zeros(1, L, d))
    assert np.allclose(_to_numpy(out)[0], expected, atol=1e-5)
    # Shorter sequences use the first rows.
    assert torch.allclose(pe(torch.zeros(3, 4, d)), out[:, :4].expand(3, 4, d))


def test_dropout_is_active_only_in_training():
    torch.manual_seed(7)
    pe = PositionalEncoding(8, dropout=0.5)
    x = torch.randn(4, 6, 8)
    pe.train()
    assert (pe(x) == 0).any()
    pe.eval()
    assert torch.equal(pe(x), x + pe.pe[:, :6])


# ----------------------------------------------------------------------------- the captioning model

WORD_TO_IDX = {"<NULL>": 0, "<START>": 1, "<END>": 2, "a": 3, "red": 4, "blue": 5, "circle": 6, "square": 7}


def _tiny_captioner(num_positions=1, input_dim=12, seed=0, **kwargs):
    torch.manual_seed(seed)
    return CaptioningTransformer(WORD_TO_IDX, input_dim=input_dim, wordvec_dim=16, num_heads=2, num_layers=2,
                                 max_length=20, num_positions=num_positions, dim_feedforward=32, **kwargs)


@pytest.mark.parametrize("num_positions", [1, 16])
def test_captioning_shapes_and_attention(num_positions):
    model = _tiny_captioner(num_positions).eval()
    N, T = 3, 7
    features = torch.randn(N, 12) if num_positions == 1 else torch.randn(N, num_positions, 12)
    captions = torch.randint(0, len(WORD_TO_IDX), (N, T))
    scores, attention = model(features, captions, return_attention=True)
    assert scores.shape == (N, T, len(WORD_TO_IDX))
    assert attention.shape == (N, 2, 2, T, num_positions)                   # (N, layers, heads, T, P)
    assert torch.allclose(attention.sum(dim=-1), torch.ones(N, 2, 2, T), atol=1e-6)
    assert torch.equal(model(features, captions), scores)
    # NumPy inputs are accepted too, and give the same scores.
    assert torch.allclose(model(features.numpy(), captions.numpy()), scores)

    sampled, weights = model.sample(features.numpy(), max_length=9, return_attention=True)
    assert sampled.shape == (N, 9) and sampled.dtype == np.int64
    assert weights.shape == (N, 9, num_positions)
    assert np.array_equal(model.sample(features, max_length=9), sampled)
    # Rows sum to 1 until a caption ends; after <END> the words are <NULL> and the rows 0.
    for n in range(N):
        ended = np.flatnonzero(sampled[n] == WORD_TO_IDX["<END>"])
        last = ended[0] if ended.size else 8
        assert np.allclose(weights[n, :last + 1].sum(axis=1), 1, atol=1e-5)
        assert np.all(sampled[n, last + 1:] == WORD_TO_IDX["<NULL>"])
        assert np.all(weights[n, last + 1:] == 0)


def test_grid_positions_matter_but_a_vector_is_one_position():
    model = _tiny_captioner(num_positions=4).eval()
    features = torch.randn(2, 4, 12)
    captions = torch.randint(0, len(WORD_TO_IDX), (2, 5))
    swapped = features[:, [1, 0, 2, 3]]
    # The learned position embedding tells the grid cells apart: swapping two cells changes the scores.
    assert not torch.allclose(model(features, captions), model(swapped, captions))
    vector_model = _tiny_captioner(num_positions=1).eval()
    vector = torch.randn(2, 12)
    assert torch.allclose(vector_model(vector, captions), vector_model(vector[:, None], captions))


def test_sample_restores_training_mode_and_stops_at_end():
    model = _tiny_captioner()
    model.train()
    model.sample(np.random.default_rng(0).standard_normal((2, 12)), max_length=5)
    assert model.training
    # A model whose output always favours <END> stops after one word.
    with torch.no_grad():
        model.output.bias.fill_(-100.0)
        model.output.bias[WORD_TO_IDX["<END>"]] = 100.0
    captions = model.sample(torch.randn(2, 12), max_length=6)
    assert np.array_equal(captions, [[2, 0, 0, 0, 0, 0]] * 2)


def _captioning_data(num_images=4, captions_per_image=2, num_positions=1, T=10, seed=0):
    """Random data in CS231n's COCO schema: <START> words <END> <NULL>..., (N, T + 1) captions."""
    rng = np.random.default_rng(seed)
    captions = np.zeros((num_images * captions_per_image, T + 1), dtype=np.int32)
    for i in range(len(captions)):
        length = rng.integers(3, T - 1)
        captions[i, 0] = WORD_TO_IDX["<START>"]
        captions[i, 1:length + 1] = rng.integers(3, len(WORD_TO_IDX), size=length)
        captions[i, length + 1] = WORD_TO_IDX["<END>"]
    shape = (num_images, 12) if num_positions == 1 else (num_images, num_positions, 12)
    return {"train_captions": captions,
            "train_image_idxs": np.repeat(np.arange(num_images), captions_per_image).astype(np.int32),
            "train_features": rng.standard_normal(shape).astype(np.float32),
            "word_to_idx": WORD_TO_IDX,
            "idx_to_word": {i: w for w, i in WORD_TO_IDX.items()}}


@pytest.mark.parametrize("num_positions", [1, 4])
def test_solver_overfits_a_tiny_captioning_set(num_positions):
    data = _captioning_data(num_images=4, captions_per_image=1, num_positions=num_positions)
    model = _tiny_captioner(num_positions, dropout=0.0)
    solver = CaptioningSolverTransformer(model, data, idx_to_word=data["idx_to_word"], num_epochs=150,
                                         batch_size=4, learning_rate=3e-3, grad_clip=1.0, verbose=False)
    solver.train()
    assert len(solver.loss_history) == 150 and len(solver.epoch_seconds) == 150
    assert solver.loss_history[-1] < 0.05 < solver.loss_history[0]
    # Greedy sampling now reproduces each training caption, <END> included.
    sampled = model.sample(data["train_features"], max_length=10)
    assert np.array_equal(sampled, data["train_captions"][:, 1:])


def test_solver_minibatches_are_seeded():
    data = _captioning_data()
    histories = []
    for _ in range(2):
        model = _tiny_captioner()
        solver = CaptioningSolverTransformer(model, data, data["idx_to_word"], num_epochs=2, batch_size=3,
                                             seed=5, verbose=False)
        histories.append(solver.train())
    assert histories[0] == histories[1]


def test_solver_decays_the_learning_rate_after_each_epoch():
    data = _captioning_data()
    solver = CaptioningSolverTransformer(_tiny_captioner(), data, data["idx_to_word"], learning_rate=1e-2,
                                         lr_decay=0.5, num_epochs=3, batch_size=4, verbose=False)
    solver.train()
    assert [group["lr"] for group in solver.optim.param_groups] == [pytest.approx(1e-2 * 0.5 ** 3)]


def test_solver_loss_is_cs231n_masked_mean():
    data = _captioning_data()
    solver = CaptioningSolverTransformer(_tiny_captioner(), data, data["idx_to_word"], verbose=False)
    x = torch.randn(2, 3, 5)
    y = torch.tensor([[1, 2, 0], [3, 0, 0]])
    mask = y != 0
    per_entry = F.cross_entropy(x.reshape(6, 5), y.reshape(6), reduction="none")
    expected = (per_entry * mask.reshape(6)).sum() / 6                       # over all N * T entries
    assert torch.isclose(solver.transformer_temporal_softmax_loss(x, y, mask), expected)


def test_solver_prints_its_progress(capsys):
    data = _captioning_data()
    solver = CaptioningSolverTransformer(_tiny_captioner(), data, data["idx_to_word"], num_epochs=1,
                                         batch_size=4, print_every=1)
    solver.train()
    assert "(Iteration 1 / 2) loss:" in capsys.readouterr().out


# ----------------------------------------------------------------------------- the Vision Transformer


@pytest.mark.parametrize("options", [{}, {"learned_pos": True, "final_norm": True}])
def test_vit_shapes_and_a_few_steps_lower_the_loss(options):
    torch.manual_seed(8)
    model = VisionTransformer(img_size=16, patch_size=4, embed_dim=32, num_layers=2, num_heads=2,
                              dim_feedforward=64, num_classes=4, dropout=0.0, **options)
    x = torch.randn(16, 3, 16, 16)
    y = torch.arange(16) % 4
    assert model(x).shape == (16, 4)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(20):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0]


def test_vit_recipe_builds_a_small_model():
    model = build_vit_cifar10(seed=0)
    assert sum(p.numel() for p in model.parameters()) < 1_000_000
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert torch.equal(build_vit_cifar10(seed=0).head.weight, model.head.weight)
    assert build_vit_cifar10(num_layers=1).transformer.num_layers == 1
    assert VIT_CIFAR10_MODEL["patch_size"] == 4 and VIT_CIFAR10_TRAINING["num_epochs"] >= 1
    with pytest.raises(ValueError, match="unknown VisionTransformer arguments"):
        build_vit_cifar10(depth=3)


def test_classification_solver_trains_and_records_results():
    g = torch.Generator().manual_seed(9)
    X = torch.randn(64, 3, 16, 16, generator=g)
    y = (X[:, 0].mean(dim=(1, 2)) > 0).long()                                # learnable from the pixels
    torch.manual_seed(9)
    model = VisionTransformer(img_size=16, patch_size=4, embed_dim=16, num_layers=1, num_heads=2,
                              dim_feedforward=32, num_classes=2, dropout=0.0)
    solver = ClassificationSolverViT((X, y), (X, y), model, learning_rate=3e-3, batch_size=16, num_epochs=6,
                                     schedule="one_cycle", autocast_dtype=None, verbose=False)
    results = solver.train()
    assert set(results) == {"train_loss", "test_acc@1", "epoch_seconds", "epoch_cpu_seconds", "best_test_acc"}
    assert len(results["test_acc@1"]) == 6 and len(solver.loss_history) == 6 * 4
    assert results["train_loss"][-1] < results["train_loss"][0]
    assert results["best_test_acc"] == max(results["test_acc@1"]) > 0.8


# ----------------------------------------------------------------------------- CUDA


@pytest.mark.parametrize("device", DEVICES)
def test_models_run_on_every_device(device):
    model = _tiny_captioner(num_positions=4).to(device).eval()
    features = torch.randn(2, 4, 12, device=device)
    captions = torch.randint(0, len(WORD_TO_IDX), (2, 5), device=device)
    assert model(features, captions).device.type == device
    sampled, attention = model.sample(features, max_length=4, return_attention=True)
    assert sampled.shape == (2, 4) and attention.shape == (2, 4, 4)
    cpu_model = _tiny_captioner(num_positions=4).eval()
    assert np.allclose(_to_numpy(model(features, captions)), _to_numpy(cpu_model(features.cpu(), captions.cpu())),
                       atol=1e-4)
    vit = VisionTransformer(img_size=16, patch_size=4, embed_dim=16, num_layers=1, num_heads=2).to(device)
    assert vit(torch.randn(2, 3, 16, 16, device=device)).shape == (2, 10)
    attn = MultiHeadAttention(16, 4).to(device).eval()
    x = torch.randn(2, 33, 16, device=device)
    assert torch.allclose(multi_head_attention_sdpa(attn, x, x, x), attn(x, x, x), atol=1e-5)


# ----------------------------------------------------------------------------- bad input


def test_embed_dim_must_divide_into_heads():
    with pytest.raises(ValueError, match=r"embed_dim \(10\) must be divisible by num_heads \(3\)"):
        MultiHeadAttention(10, 3)
    with pytest.raises(ValueError, match=r"wordvec_dim \(30\) must be divisible by num_heads \(4\)"):
        CaptioningTransformer(WORD_TO_IDX, input_dim=12, wordvec_dim=30, num_heads=4)
    with pytest.raises(ValueError, match="num_heads must be a positive integer"):
        MultiHeadAttention(8, 0)


def test_mask_of_the_wrong_shape_or_dtype():
    attn = MultiHeadAttention(8, 2)
    x = torch.randn(1, 3, 8)
    with pytest.raises(ValueError, match=r"attn_mask must have shape \(S, T\) = \(3, 3\).*got \(3, 4\)"):
        attn(x, x, x, attn_mask=torch.ones(3, 4, dtype=torch.bool))
    additive = torch.zeros(3, 3).masked_fill(torch.ones(3, 3, dtype=torch.bool).triu(1), float("-inf"))
    with pytest.raises(ValueError, match="attn_mask must be boolean.*got dtype torch.float32"):
        attn(x, x, x, attn_mask=additive)
    with pytest.raises(ValueError, match="must be a torch.Tensor"):
        attn(x, x, x, attn_mask=np.ones((3, 3), dtype=bool))
    with pytest.raises(ValueError, match=r"query rows \[1\] attend to no key"):
        attn(x, x, x, attn_mask=torch.tensor([[1, 0, 0], [0, 0, 0], [1, 1, 1]], dtype=torch.bool))


def test_attention_inputs_of_the_wrong_shape():
    attn = MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match=r"query must have shape \(N, S, E\) with E = 8, got \(1, 3, 6\)"):
        attn(torch.randn(1, 3, 6), torch.randn(1, 3, 8), torch.randn(1, 3, 8))
    with pytest.raises(ValueError, match="key and value must both have shape"):
        attn(torch.randn(1, 3, 8), torch.randn(1, 4, 8), torch.randn(1, 5, 8))
    with pytest.raises(ValueError, match="must be a torch.Tensor"):
        attn(np.zeros((1, 3, 8)), torch.randn(1, 3, 8), torch.randn(1, 3, 8))


def test_sequences_longer_than_max_len():
    with pytest.raises(ValueError, match="S = 6, longer than max_len = 5"):
        PositionalEncoding(8, max_len=5)(torch.randn(1, 6, 8))
    model = _tiny_captioner()
    with pytest.raises(ValueError, match="captions have length T = 21, longer than max_length = 20"):
        model(torch.randn(2, 12), torch.zeros(2, 21, dtype=torch.long))
    with pytest.raises(ValueError, match="max_length = 30 exceeds the model's max_length = 20"):
        model.sample(torch.randn(2, 12), max_length=30)
    with pytest.raises(ValueError, match="embed_dim must be even"):
        PositionalEncoding(7)


def test_features_of_the_wrong_dimension():
    model = _tiny_captioner()
    captions = torch.zeros(2, 4, dtype=torch.long)
    with pytest.raises(ValueError, match=r"features must have shape \(N, D\) with D = 12.*got \(2, 10\)"):
        model(torch.randn(2, 10), captions)
    grid_model = _tiny_captioner(num_positions=16)
    with pytest.raises(ValueError, match=r"features must have shape \(N, P, D\) with P = 16, D = 12.*\(2, 9, 12\)"):
        grid_model(torch.randn(2, 9, 12), captions)
    with pytest.raises(ValueError, match=r"features must have shape \(N, P, D\) with P = 16"):
        grid_model(torch.randn(2, 12), captions)
    with pytest.raises(ValueError, match=r"captions must have shape \(N, T\) with N = 2"):
        model(torch.randn(2, 12), torch.zeros(3, 4, dtype=torch.long))


def test_captions_of_the_wrong_type_or_range():
    model = _tiny_captioner()
    with pytest.raises(ValueError, match="captions must hold integer word indices, got dtype torch.float32"):
        model(torch.randn(2, 12), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"word indices in \[0, 8\), got values in \[0, 9\]"):
        model(torch.randn(2, 12), torch.tensor([[0, 9], [1, 2]]))
    with pytest.raises(ValueError, match="word_to_idx must be a dict .* contains '<NULL>'"):
        CaptioningTransformer({"a": 0}, input_dim=4, wordvec_dim=8)
    with pytest.raises(ValueError, match="needs '<START>'"):
        CaptioningTransformer({"<NULL>": 0, "a": 1}, input_dim=4, wordvec_dim=8, num_heads=2).sample(
            torch.randn(1, 4))


def test_image_size_not_divisible_by_patch_size():
    with pytest.raises(ValueError, match=r"img_size \(32\) must be divisible by patch_size \(5\); patch sizes "
                                         r"that fit: \[1, 2, 4, 8, 16, 32\]"):
        PatchEmbedding(32, 5)
    with pytest.raises(ValueError, match=r"img_size \(32\) must be divisible by patch_size \(6\)"):
        VisionTransformer(patch_size=6)
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\) = \(N, 3, 32, 32\), got \(2, 3, 28, 28\)"):
        PatchEmbedding(32, 8)(torch.randn(2, 3, 28, 28))


def test_comparison_cnn_is_the_narrow_resnet9_trained_epoch_by_epoch(capsys):
    torch.manual_seed(0)
    X, y = torch.randn(24, 3, 32, 32), torch.randint(0, 10, (24,))
    cnn, results = train_comparison_cnn((X, y), (X[:8], y[:8]), num_epochs=2)
    assert sum(p.numel() for p in cnn.parameters()) < 150_000  # a third of ResNet9's widths
    assert {k: len(v) for k, v in results.items()} == {"train_loss": 2, "test_acc@1": 2, "epoch_seconds": 2,
                                                       "epoch_cpu_seconds": 2}
    assert all(0 <= a <= 1 for a in results["test_acc@1"]) and "epoch 2/2: loss" in capsys.readouterr().out
    with pytest.raises(ValueError, match="train_data must be .X, y. with X of shape"):
        train_comparison_cnn((X, y[:3]), (X, y), num_epochs=1)


def test_solver_arguments_and_data_are_checked():
    data = _captioning_data()
    model = _tiny_captioner()
    with pytest.raises(ValueError, match='Unrecognized arguments "lr"'):
        CaptioningSolverTransformer(model, data, data["idx_to_word"], lr=1e-3)
    with pytest.raises(ValueError, match="learning_rate must be a positive number"):
        CaptioningSolverTransformer(model, data, data["idx_to_word"], learning_rate=-1.0)
    with pytest.raises(ValueError, match="lr_decay"):
        CaptioningSolverTransformer(model, data, data["idx_to_word"], lr_decay=0.0)
    with pytest.raises(ValueError, match=r"data is missing \['train_grid'\]"):
        CaptioningSolverTransformer(model, data, data["idx_to_word"], feature_key="grid")
    broken = {**data, "train_image_idxs": data["train_image_idxs"] + 10}
    with pytest.raises(ValueError, match="train_image_idxs must index the 4 rows of train_features"):
        CaptioningSolverTransformer(model, broken, data["idx_to_word"])
    X, y = torch.randn(4, 3, 8, 8), torch.zeros(4, dtype=torch.long)
    vit = VisionTransformer(img_size=8, patch_size=4, embed_dim=8, num_layers=1, num_heads=2)
    with pytest.raises(ValueError, match="train_data must be .X, y. with X of shape"):
        ClassificationSolverViT((X, y[:3]), (X, y), vit)
    with pytest.raises(ValueError, match="schedule must be 'constant' or 'one_cycle'"):
        ClassificationSolverViT((X, y), (X, y), vit, schedule="cosine")
    with pytest.raises(ValueError, match="Unrecognized arguments 'epochs'"):
        ClassificationSolverViT((X, y), (X, y), vit, epochs=3)
