"""Transformer layers as PyTorch modules, under CS231n's names and constructor signatures.

- PositionalEncoding: the fixed sine/cosine encoding of "Attention Is All You Need", added to a sequence
- MultiHeadAttention: multi-headed scaled dot-product attention with an optional mask
- FeedForwardNetwork: the position-wise two-layer network (GELU) of each transformer layer
- TransformerDecoderLayer: masked self-attention, cross-attention to a memory (the image), feed-forward
- TransformerEncoderLayer: self-attention and feed-forward (the layer of a Vision Transformer)
- PatchEmbedding: an image cut into non-overlapping patches, each projected to a vector (ViT's input)

Two more implementations of MultiHeadAttention's computation share its weights, so that a test can check
one against the other and the benchmark can time them side by side:
- multi_head_attention_naive: one head at a time in a Python loop (what the vectorized layer avoids)
- multi_head_attention_sdpa: the heads through torch.nn.functional.scaled_dot_product_attention

The layers are post-norm, as in CS231n (and in the original Transformer): each block computes
x = LayerNorm(x + Dropout(block(x))). The creation order of the submodules is CS231n's, so that the same
`torch.manual_seed` gives the same initial weights and CS231n's published check values reproduce.

Masks follow CS231n's convention: attn_mask[i, j] is True (or 1) where query i may attend to key j, and
False (or 0) where it may not. Every query must be allowed at least one key (a query with none would get
an undefined softmax).
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from helpers._checks import number_in, positive_int

# ----------------------------------------------------------------------------- validation


def _shape(x):
    return tuple(x.shape)


def check_sequence(name, x, embed_dim, layout="(N, S, E)"):
    """Raise a ValueError unless x is a floating-point tensor of shape `layout` (three letters, e.g.
    "(N, S, E)") whose last dimension is embed_dim."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape {layout}, got {type(x).__name__}")
    if x.ndim != 3 or x.shape[2] != embed_dim:
        last = layout.strip("()").split(", ")[-1]
        raise ValueError(f"{name} must have shape {layout} with {last} = {embed_dim}, got {_shape(x)}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")


def check_attn_mask(attn_mask, S, T):
    """
    Validate an attention mask and return it as a boolean tensor (True: may attend).

    Inputs:
    - attn_mask: Tensor of shape (S, T), boolean, or integer/float holding only 0 and 1
    - S, T: Lengths of the query and key sequences

    Returns:
    - Boolean tensor of shape (S, T)
    """
    if not isinstance(attn_mask, torch.Tensor):
        raise ValueError(f"attn_mask must be a torch.Tensor of shape (S, T) = ({S}, {T}), "
                         f"got {type(attn_mask).__name__}")
    if _shape(attn_mask) != (S, T):
        raise ValueError(f"attn_mask must have shape (S, T) = ({S}, {T}) for {S} queries and {T} keys, "
                         f"got {_shape(attn_mask)}")
    if attn_mask.dtype != torch.bool:
        if attn_mask.is_complex() or not torch.all((attn_mask == 0) | (attn_mask == 1)):
            raise ValueError(f"attn_mask must be boolean (True where a query may attend to a key), or hold only "
                             f"0 and 1; got dtype {attn_mask.dtype} with other values (an additive float mask "
                             f"of -inf and 0, as torch.nn.MultiheadAttention takes, is not this convention)")
        attn_mask = attn_mask != 0
    if not torch.all(attn_mask.any(dim=1)):
        rows = torch.nonzero(~attn_mask.any(dim=1)).flatten().tolist()
        raise ValueError(f"attn_mask lets query rows {rows} attend to no key at all; each row needs a True entry")
    return attn_mask


def _check_dropout(dropout):
    return number_in("dropout", dropout, 0.0, 1.0, high_open=True)


# ----------------------------------------------------------------------------- positional encoding


class PositionalEncoding(nn.Module):
    """
    Encodes information about the positions of the tokens in the sequence. The layer has no learnable
    parameters: P[i, j] = sin(i * 10000^(-j / d)) for even j and cos(i * 10000^(-(j - 1) / d)) for odd j,
    for position i and feature j of a d-dimensional embedding, and the output is dropout(x + P).
    """

    def __init__(self, embed_dim, dropout=0.1, max_len=5000):
        """
        Construct the PositionalEncoding layer.

        Inputs:
         - embed_dim: The size of the embedding dimension, an even integer
         - dropout: The dropout probability applied to the output
         - max_len: The maximum possible length of an input sequence
        """
        super().__init__()
        embed_dim = positive_int("embed_dim", embed_dim)
        if embed_dim % 2:
            raise ValueError(f"embed_dim must be even (sines and cosines come in pairs), got {embed_dim}")
        self.max_len = positive_int("max_len", max_len)
        self.embed_dim = embed_dim
        self.dropout = nn.Dropout(p=_check_dropout(dropout))
        # A batch dimension of 1 broadcasts over every sequence of a minibatch.
        pe = torch.zeros(1, self.max_len, embed_dim)
        position = torch.arange(self.max_len, dtype=torch.float32).unsqueeze(1)              # (max_len, 1)
        # Exponents 0, 0, 2, 2, 4, 4, ...: even feature j and odd feature j + 1 share the frequency.
        frequency = 10000.0 ** (-torch.arange(0, embed_dim, 2, dtype=torch.float32) / embed_dim)  # (d / 2,)
        pe[0, :, 0::2] = torch.sin(position * frequency)
        pe[0, :, 1::2] = torch.cos(position * frequency)
        # A buffer travels with the module (.to(device), state_dict) but is not trained.
        self.register_buffer("pe", pe)

    def forward(self, x):
        """
        Element-wise add the positional encoding to the input sequence.

        Inputs:
         - x: The sequence fed to the positional encoder, of shape (N, S, D), where N is the batch size,
              S the sequence length and D the embedding dimension (S <= max_len)

        Returns:
         - output: The input sequence plus the positional encodings, after dropout, of shape (N, S, D)
        """
        check_sequence("x", x, self.embed_dim, "(N, S, D)")
        S = x.shape[1]
        if S > self.max_len:
            raise ValueError(f"the sequence has length S = {S}, longer than max_len = {self.max_len} "
                             f"positions this PositionalEncoding was built for")
        return self.dropout(x + self.pe[:, :S])


# ----------------------------------------------------------------------------- attention


class MultiHeadAttention(nn.Module):
    """
    A model layer which implements a simplified version of masked attention, as introduced by
    "Attention Is All You Need" (https://arxiv.org/abs/1706.03762).

    Usage:
      attn = MultiHeadAttention(embed_dim, num_heads=2)

      # self-attention
      data = torch.randn(batch_size, sequence_length, embed_dim)
      self_attn_output = attn(query=data, key=data, value=data)

      # attention using two inputs
      other_data = torch.randn(batch_size, sequence_length, embed_dim)
      attn_output = attn(query=data, key=other_data, value=other_data)
    """

    def __init__(self, embed_dim, num_heads, dropout=0.1):
        """
        Construct a new MultiHeadAttention layer.

        Inputs:
         - embed_dim: Dimension of the token embedding, E
         - num_heads: Number of attention heads, H; E must be divisible by H
         - dropout: Dropout probability applied to the attention weights
        """
        super().__init__()
        embed_dim = positive_int("embed_dim", embed_dim)
        num_heads = positive_int("num_heads", num_heads)
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads}); "
                             f"e.g. num_heads in {[h for h in range(1, embed_dim + 1) if embed_dim % h == 0][:8]}")
        # CS231n creates the projections in this order; another order draws other initial weights.
        self.key = nn.Linear(embed_dim, embed_dim)
        self.query = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.proj = nn.Linear(embed_dim, embed_dim)

        self.attn_drop = nn.Dropout(_check_dropout(dropout))

        self.n_head = num_heads
        self.emd_dim = embed_dim                # CS231n's attribute names
        self.head_dim = self.emd_dim // self.n_head

    def _check_inputs(self, query, key, value, attn_mask):
        E = self.emd_dim
        check_sequence("query", query, E, "(N, S, E)")
        check_sequence("key", key, E, "(N, T, E)")
        check_sequence("value", value, E, "(N, T, E)")
        if key.shape != value.shape or key.shape[0] != query.shape[0]:
            raise ValueError(f"key and value must both have shape (N, T, E) with the N = {query.shape[0]} "
                             f"of query {_shape(query)}; got key {_shape(key)} and value {_shape(value)}")
        if attn_mask is None:
            return None
        return check_attn_mask(attn_mask, query.shape[1], key.shape[1]).to(query.device)

    def _heads(self, query, key, value):
        """Project the inputs and split the projections into heads, each (N, H, length, E/H)."""
        N, S, E = query.shape
        T = key.shape[1]
        H = self.n_head
        q = self.query(query).view(N, S, H, E // H).transpose(1, 2)       # (N, H, S, E/H)
        k = self.key(key).view(N, T, H, E // H).transpose(1, 2)           # (N, H, T, E/H)
        v = self.value(value).view(N, T, H, E // H).transpose(1, 2)       # (N, H, T, E/H)
        return q, k, v

    def forward(self, query, key, value, attn_mask=None, need_weights=False):
        """
        Calculate the masked attention output for the provided data, computing all attention heads in
        parallel.

        In the shape definitions below, N is the batch size, S is the source sequence length, T is the
        target sequence length, and E is the embedding dimension.

        Inputs:
        - query: Input data to be used as the query, of shape (N, S, E)
        - key: Input data to be used as the key, of shape (N, T, E)
        - value: Input data to be used as the value, of shape (N, T, E)
        - attn_mask: Array of shape (S, T) where mask[i,j] == 0 indicates token i in the source should not
          influence token j in the target
        - need_weights: Also return the attention weights

        Returns:
        - output: Tensor of shape (N, S, E) giving the weighted combination of data in value according to
          the attention weights calculated using key and query
        - weights (only when need_weights): Tensor of shape (N, H, S, T), the softmax weights of each head
          before dropout; each row sums to 1
        """
        attn_mask = self._check_inputs(query, key, value, attn_mask)
        N, S, E = query.shape
        q, k, v = self._heads(query, key, value)
        # Dividing by sqrt(E/H) keeps the scores' variance near 1 whatever the head size, so the softmax
        # does not saturate into a one-hot vector with vanishing gradients.
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)          # (N, H, S, T)
        if attn_mask is not None:
            scores = scores.masked_fill(~attn_mask, float("-inf"))           # broadcast over N and H
        weights = F.softmax(scores, dim=-1)                                  # (N, H, S, T)
        y = self.attn_drop(weights) @ v                                      # (N, H, S, E/H)
        y = y.transpose(1, 2).reshape(N, S, E)                               # (N, S, E): heads side by side
        output = self.proj(y)
        return (output, weights) if need_weights else output


def multi_head_attention_naive(attn, query, key, value, attn_mask=None):
    """
    The computation of MultiHeadAttention (in evaluation mode: no dropout), one head at a time: each
    head's slice of the projection weights, its own (S, T) score matrix and softmax, then the heads'
    outputs concatenated and projected. Slow on purpose; it is the baseline of the benchmark.

    Inputs:
    - attn: A MultiHeadAttention whose weights are used
    - query: Tensor of shape (N, S, E)
    - key, value: Tensors of shape (N, T, E)
    - attn_mask: Optional mask of shape (S, T), as in MultiHeadAttention.forward

    Returns:
    - output: Tensor of shape (N, S, E), equal to attn(query, key, value, attn_mask) in eval mode
    """
    attn_mask = attn._check_inputs(query, key, value, attn_mask)
    d = attn.head_dim
    heads = []
    for h in range(attn.n_head):
        rows = slice(h * d, (h + 1) * d)
        q = F.linear(query, attn.query.weight[rows], attn.query.bias[rows])  # (N, S, d)
        k = F.linear(key, attn.key.weight[rows], attn.key.bias[rows])        # (N, T, d)
        v = F.linear(value, attn.value.weight[rows], attn.value.bias[rows])  # (N, T, d)
        scores = q @ k.transpose(1, 2) / math.sqrt(d)                         # (N, S, T)
        if attn_mask is not None:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        heads.append(F.softmax(scores, dim=-1) @ v)                           # (N, S, d)
    return attn.proj(torch.cat(heads, dim=2))                                 # (N, S, E)


def multi_head_attention_sdpa(attn, query, key, value, attn_mask=None):
    """
    The computation of MultiHeadAttention (in evaluation mode: no dropout) with the heads' attention done
    by torch.nn.functional.scaled_dot_product_attention, which may use a fused kernel (flash or
    memory-efficient attention) that never stores the (S, T) weights.

    Inputs and Returns: as multi_head_attention_naive.
    """
    attn_mask = attn._check_inputs(query, key, value, attn_mask)
    N, S, E = query.shape
    q, k, v = attn._heads(query, key, value)
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)         # (N, H, S, E/H)
    return attn.proj(y.transpose(1, 2).reshape(N, S, E))                     # (N, S, E)


# ----------------------------------------------------------------------------- transformer layers


class FeedForwardNetwork(nn.Module):
    """The position-wise feed-forward network: fc1 - GELU - dropout - fc2, applied to each token alone."""

    def __init__(self, embed_dim, ffn_dim, dropout=0.1):
        """
        Inputs:
         - embed_dim: Dimension of the input and output embeddings
         - ffn_dim: Hidden dimension of the feed-forward network
         - dropout: Dropout probability after the activation
        """
        super().__init__()
        self.fc1 = nn.Linear(positive_int("embed_dim", embed_dim), positive_int("ffn_dim", ffn_dim))
        self.gelu = nn.GELU()
        self.dropout = nn.Dropout(_check_dropout(dropout))
        self.fc2 = nn.Linear(ffn_dim, embed_dim)

    def forward(self, x):
        """
        Inputs:
        - x: Input tensor of shape (N, T, D)

        Returns:
        - out: Output tensor of the same shape as x
        """
        return self.fc2(self.dropout(self.gelu(self.fc1(x))))


class TransformerDecoderLayer(nn.Module):
    """
    A single layer of a Transformer decoder: masked self-attention over the caption so far,
    cross-attention from each word to the memory (the image's feature vectors), and a feed-forward
    network, each followed by dropout, a residual connection and layer normalization.
    """

    def __init__(self, input_dim, num_heads, dim_feedforward=2048, dropout=0.1):
        """
        Construct a TransformerDecoderLayer instance.

        Inputs:
         - input_dim: Number of expected features in the input, D
         - num_heads: Number of attention heads (D must be divisible by it)
         - dim_feedforward: Dimension of the feedforward network model
         - dropout: The dropout value
        """
        super().__init__()
        self.self_attn = MultiHeadAttention(input_dim, num_heads, dropout)
        self.cross_attn = MultiHeadAttention(input_dim, num_heads, dropout)
        self.ffn = FeedForwardNetwork(input_dim, dim_feedforward, dropout)

        self.norm_self = nn.LayerNorm(input_dim)
        self.norm_cross = nn.LayerNorm(input_dim)
        self.norm_ffn = nn.LayerNorm(input_dim)

        self.dropout_self = nn.Dropout(dropout)
        self.dropout_cross = nn.Dropout(dropout)
        self.dropout_ffn = nn.Dropout(dropout)

    def forward(self, tgt, memory, tgt_mask=None, need_weights=False):
        """
        Pass the inputs (and mask) through the decoder layer.

        Inputs:
        - tgt: The sequence to the decoder layer, of shape (N, T, D)
        - memory: The sequence from the last layer of the encoder (here the image), of shape (N, S, D)
        - tgt_mask: The parts of the target sequence to mask, of shape (T, T)
        - need_weights: Also return the cross-attention weights

        Returns:
        - out: The Transformer features, of shape (N, T, D)
        - cross_weights (only when need_weights): Tensor of shape (N, H, T, S), how much each word
          attends to each memory position, per head
        """
        tgt = self.norm_self(tgt + self.dropout_self(self.self_attn(tgt, tgt, tgt, attn_mask=tgt_mask)))
        attended, cross_weights = self.cross_attn(tgt, memory, memory, need_weights=True)
        tgt = self.norm_cross(tgt + self.dropout_cross(attended))
        tgt = self.norm_ffn(tgt + self.dropout_ffn(self.ffn(tgt)))
        return (tgt, cross_weights) if need_weights else tgt


class TransformerEncoderLayer(nn.Module):
    """
    A single layer of a Transformer encoder: self-attention among all tokens (every patch of an image
    sees every other), then a feed-forward network, each followed by dropout, a residual connection and
    layer normalization.
    """

    def __init__(self, input_dim, num_heads, dim_feedforward=2048, dropout=0.1):
        """
        Construct a TransformerEncoderLayer instance.

        Inputs:
         - input_dim: Number of expected features in the input, D
         - num_heads: Number of attention heads (D must be divisible by it)
         - dim_feedforward: Dimension of the feedforward network model
         - dropout: The dropout value
        """
        super().__init__()
        self.self_attn = MultiHeadAttention(input_dim, num_heads, dropout)
        self.ffn = FeedForwardNetwork(input_dim, dim_feedforward, dropout)

        self.norm_self = nn.LayerNorm(input_dim)
        self.norm_ffn = nn.LayerNorm(input_dim)

        self.dropout_self = nn.Dropout(dropout)
        self.dropout_ffn = nn.Dropout(dropout)

    def forward(self, src, src_mask=None):
        """
        Pass the input (and mask) through the encoder layer.

        Inputs:
        - src: The sequence to the encoder layer, of shape (N, S, D)
        - src_mask: The parts of the source sequence to mask, of shape (S, S)

        Returns:
        - out: The Transformer features, of shape (N, S, D)
        """
        src = self.norm_self(src + self.dropout_self(self.self_attn(src, src, src, attn_mask=src_mask)))
        return self.norm_ffn(src + self.dropout_ffn(self.ffn(src)))


# ----------------------------------------------------------------------------- patches


class PatchEmbedding(nn.Module):
    """
    A layer that splits an image into non-overlapping patch_size x patch_size patches and projects each
    flattened patch to an embedding vector: the input layer of a Vision Transformer (ViT).

    Inputs:
    - img_size: Height and width of the (square) input image
    - patch_size: Height and width of each (square) patch; must divide img_size
    - in_channels: Number of input image channels, e.g. 3 for RGB
    - embed_dim: Dimension of the linear embedding space
    """

    def __init__(self, img_size, patch_size, in_channels=3, embed_dim=128):
        super().__init__()
        self.img_size = positive_int("img_size", img_size)
        self.patch_size = positive_int("patch_size", patch_size)
        self.in_channels = positive_int("in_channels", in_channels)
        self.embed_dim = positive_int("embed_dim", embed_dim)
        if img_size % patch_size:
            divisors = [p for p in range(1, img_size + 1) if img_size % p == 0]
            raise ValueError(f"img_size ({img_size}) must be divisible by patch_size ({patch_size}); "
                             f"patch sizes that fit: {divisors}")

        self.num_patches = (img_size // patch_size) ** 2
        self.patch_dim = patch_size * patch_size * in_channels

        # A linear projection of the flattened patches to the embedding dimension.
        self.proj = nn.Linear(self.patch_dim, embed_dim)

    def forward(self, x):
        """
        Inputs:
        - x: Input image tensor of shape (N, C, H, W) with C = in_channels and H = W = img_size

        Returns:
        - out: Patch embeddings of shape (N, num_patches, embed_dim); patches are ordered row by row, and
          each is flattened channel by channel, then row by row (C x patch_size x patch_size)
        """
        expected = (self.in_channels, self.img_size, self.img_size)
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or _shape(x)[1:] != expected:
            got = _shape(x) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (N, C, H, W) = (N, {', '.join(map(str, expected))}), got {got}")
        N, C, H, W = x.shape
        p = self.patch_size
        patches = x.reshape(N, C, H // p, p, W // p, p)                      # (N, C, gh, p, gw, p)
        patches = patches.permute(0, 2, 4, 1, 3, 5)                           # (N, gh, gw, C, p, p)
        patches = patches.reshape(N, self.num_patches, self.patch_dim)        # (N, P, C * p * p)
        return self.proj(patches)                                             # (N, P, embed_dim)
