"""Transformer models under CS231n's names: CaptioningTransformer (image captioning with a Transformer
decoder) and VisionTransformer (CIFAR-10 classification from image patches), built from
helpers.transformer_layers.

The creation order of the submodules and the weight initialization are CS231n's, so the same
`torch.manual_seed` gives the same initial weights and CS231n's published check values reproduce in eval
mode.
"""

import copy

import numpy as np
import torch
import torch.nn as nn

from helpers._checks import number_in, positive_int
from helpers.transformer_layers import (
    PatchEmbedding,
    PositionalEncoding,
    TransformerDecoderLayer,
    TransformerEncoderLayer,
)


def _init_weights(module):
    """GPT-2's initialization: N(0, 0.02) weights and zero biases for linear and embedding layers;
    layer norms start as the identity."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        module.weight.data.normal_(mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            module.bias.data.zero_()
    elif isinstance(module, nn.LayerNorm):
        module.bias.data.zero_()
        module.weight.data.fill_(1.0)


def clones(module, N):
    """Produce N identical (deep-copied, independent) layers."""
    return nn.ModuleList([copy.deepcopy(module) for _ in range(N)])


class TransformerDecoder(nn.Module):
    """A stack of num_layers copies of a TransformerDecoderLayer."""

    def __init__(self, decoder_layer, num_layers):
        super().__init__()
        self.layers = clones(decoder_layer, positive_int("num_layers", num_layers))
        self.num_layers = num_layers

    def forward(self, tgt, memory, tgt_mask=None, need_weights=False):
        """
        Inputs:
        - tgt: Tensor of shape (N, T, D); memory: Tensor of shape (N, S, D); tgt_mask: (T, T)
        - need_weights: Also return every layer's cross-attention weights

        Returns:
        - output: Tensor of shape (N, T, D)
        - weights (only when need_weights): Tensor of shape (N, num_layers, H, T, S)
        """
        output, weights = tgt, []
        for mod in self.layers:
            output, w = mod(output, memory, tgt_mask=tgt_mask, need_weights=True)
            weights.append(w)
        return (output, torch.stack(weights, dim=1)) if need_weights else output


class TransformerEncoder(nn.Module):
    """A stack of num_layers copies of a TransformerEncoderLayer."""

    def __init__(self, encoder_layer, num_layers):
        super().__init__()
        self.layers = clones(encoder_layer, positive_int("num_layers", num_layers))
        self.num_layers = num_layers

    def forward(self, src, src_mask=None):
        """src: Tensor of shape (N, S, D); src_mask: (S, S). Returns a tensor of shape (N, S, D)."""
        output = src
        for mod in self.layers:
            output = mod(output, src_mask=src_mask)
        return output


# ----------------------------------------------------------------------------- captioning


class CaptioningTransformer(nn.Module):
    """
    A CaptioningTransformer produces captions from image features using a Transformer decoder.

    The Transformer receives input vectors of size D, has a vocab size of V, works on sequences of length
    T, uses word vectors of dimension W, and operates on minibatches of size N.

    The image enters as a memory of P vectors that every word attends to (cross-attention):
    - one feature vector per image, shape (N, D) (CS231n's COCO features): P = 1, and cross-attention
      has a single place to look at;
    - a spatial grid of feature vectors, shape (N, P, D), e.g. P = 4 x 4 positions of a CNN's last
      feature map, listed row by row: each word can look at a different part of the image. A learned
      embedding of the grid position is added to each projected vector, since attention by itself does
      not know where a vector came from (num_positions = P tells the model the grid's size).
    """

    def __init__(self, word_to_idx, input_dim, wordvec_dim, num_heads=4, num_layers=2, max_length=50,
                 num_positions=1, dim_feedforward=2048, dropout=0.1):
        """
        Construct a new CaptioningTransformer instance.

        Inputs:
        - word_to_idx: A dictionary giving the vocabulary. It contains V entries, and maps each string to a
          unique integer in the range [0, V); it must contain "<NULL>" ("<START>" and "<END>" are needed
          by sample)
        - input_dim: Dimension D of input image feature vectors
        - wordvec_dim: Dimension W of word vectors, also the width of the decoder
        - num_heads: Number of attention heads (W must be divisible by it)
        - num_layers: Number of transformer layers
        - max_length: Max possible sequence length
        - num_positions: P, the number of feature vectors per image: 1 for one vector per image, h * w
          for an h x w grid
        - dim_feedforward: Hidden dimension of each layer's feed-forward network
        - dropout: Dropout probability inside the decoder and after the positional encoding
        """
        super().__init__()
        if not isinstance(word_to_idx, dict) or "<NULL>" not in word_to_idx:
            raise ValueError("word_to_idx must be a dict mapping words to indices that contains '<NULL>'")
        indices = sorted(word_to_idx.values())
        if any(not isinstance(i, (int, np.integer)) or i < 0 for i in indices) or len(set(indices)) != len(indices):
            raise ValueError("word_to_idx must map each word to a distinct non-negative integer index")

        # CS231n's vocabulary size is the number of words: the indices are meant to be 0..V-1, and captions
        # holding an index >= V are refused.
        vocab_size = len(word_to_idx)
        self.vocab_size = vocab_size
        self._null = word_to_idx["<NULL>"]
        self._start = word_to_idx.get("<START>", None)
        self._end = word_to_idx.get("<END>", None)
        self.input_dim = positive_int("input_dim", input_dim)
        self.wordvec_dim = positive_int("wordvec_dim", wordvec_dim)
        self.max_length = positive_int("max_length", max_length)
        self.num_positions = positive_int("num_positions", num_positions)
        number_in("dropout", dropout, 0.0, 1.0, high_open=True)
        positive_int("num_heads", num_heads)
        if wordvec_dim % num_heads:
            raise ValueError(f"wordvec_dim ({wordvec_dim}) must be divisible by num_heads ({num_heads})")

        # CS231n's creation order (and the output layer created after the initialization), so that
        # torch.manual_seed gives CS231n's weights.
        self.visual_projection = nn.Linear(input_dim, wordvec_dim)
        self.embedding = nn.Embedding(vocab_size, wordvec_dim, padding_idx=self._null)
        self.positional_encoding = PositionalEncoding(wordvec_dim, dropout=dropout, max_len=max_length)

        decoder_layer = TransformerDecoderLayer(input_dim=wordvec_dim, num_heads=num_heads,
                                                dim_feedforward=dim_feedforward, dropout=dropout)
        self.transformer = TransformerDecoder(decoder_layer, num_layers=num_layers)
        self.apply(self._init_weights)

        self.output = nn.Linear(wordvec_dim, vocab_size)
        # A grid needs its positions told apart (one vector needs nothing: the projection has a bias).
        self.memory_positions = None
        if self.num_positions > 1:
            self.memory_positions = nn.Parameter(0.02 * torch.randn(1, self.num_positions, wordvec_dim))

    def _init_weights(self, module):
        """Initialize the weights of the network."""
        _init_weights(module)

    # ------------------------------------------------------------------------- inputs

    def _device_dtype(self):
        weight = self.visual_projection.weight
        return weight.device, weight.dtype

    def image_memory(self, features):
        """
        Project image features to the decoder's width: the memory that cross-attention looks at.

        Inputs:
        - features: Tensor or array of shape (N, D), one vector per image (P = 1), or (N, P, D), a grid

        Returns:
        - memory: Tensor of shape (N, P, W)
        """
        device, dtype = self._device_dtype()
        features = torch.as_tensor(features, device=device)
        if not (features.is_floating_point() or features.dtype in (torch.int32, torch.int64)):
            raise ValueError(f"features must be a real-valued array, got dtype {features.dtype}")
        features = features.to(dtype)
        D, P = self.input_dim, self.num_positions
        received = tuple(features.shape)
        if features.ndim == 2:
            features = features.unsqueeze(1)                                   # (N, 1, D)
        if features.ndim != 3 or features.shape[1] != P or features.shape[2] != D:
            expected = f"(N, D) with D = {D}" if P == 1 else f"(N, P, D) with P = {P}, D = {D}"
            raise ValueError(f"features must have shape {expected} (this model was built with "
                             f"input_dim={D}, num_positions={P}), got {received}")
        memory = self.visual_projection(features)                              # (N, P, W)
        if self.memory_positions is not None:
            memory = memory + self.memory_positions
        return memory

    def _check_captions(self, captions, N):
        device, _ = self._device_dtype()
        captions = torch.as_tensor(captions, device=device)
        if captions.ndim != 2 or captions.shape[0] != N:
            raise ValueError(f"captions must have shape (N, T) with N = {N} (one row per image), "
                             f"got {tuple(captions.shape)}")
        if captions.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
            raise ValueError(f"captions must hold integer word indices, got dtype {captions.dtype}")
        T = captions.shape[1]
        if T > self.max_length:
            raise ValueError(f"captions have length T = {T}, longer than max_length = {self.max_length} "
                             f"of this model")
        if captions.numel() and (captions.min() < 0 or captions.max() >= self.vocab_size):
            raise ValueError(f"captions must hold word indices in [0, {self.vocab_size}), got values in "
                             f"[{int(captions.min())}, {int(captions.max())}]")
        return captions.long()

    def _causal_mask(self, T, device):
        # Word t may look at words 0..t: the lower triangle, diagonal included.
        return torch.tril(torch.ones(T, T, dtype=torch.bool, device=device))   # (T, T)

    # ------------------------------------------------------------------------- forward

    def forward(self, features, captions, return_attention=False):
        """
        Given image features and caption tokens, return a distribution over the possible tokens for each
        timestep. Note that since the entire sequence of captions is provided all at once, we mask out
        future timesteps.

        Inputs:
         - features: Image features, of shape (N, D) or, for a grid, (N, P, D)
         - captions: Ground truth captions, of shape (N, T), with T <= max_length
         - return_attention: Also return the cross-attention weights

        Returns:
         - scores: Score for each token at each timestep, of shape (N, T, V)
         - attention (only when return_attention): Tensor of shape (N, num_layers, num_heads, T, P), how
           much the word at each timestep attends to each image position, per layer and head (each
           (T, P) row sums to 1)
        """
        memory = self.image_memory(features)                                   # (N, P, W)
        captions = self._check_captions(captions, memory.shape[0])            # (N, T)
        T = captions.shape[1]
        words = self.positional_encoding(self.embedding(captions))            # (N, T, W)
        out, attention = self.transformer(words, memory, tgt_mask=self._causal_mask(T, words.device),
                                          need_weights=True)                  # (N, T, W)
        scores = self.output(out)                                              # (N, T, V)
        return (scores, attention) if return_attention else scores

    def sample(self, features, max_length=30, return_attention=False):
        """
        Given image features, use greedy decoding to predict the image caption. The model runs in eval
        mode (no dropout) and is put back in its previous mode afterwards. Once a caption has produced
        <END>, its remaining words are <NULL>, and sampling stops when every caption has ended.

        Inputs:
         - features: Image features, of shape (N, D) or (N, P, D)
         - max_length: Maximum possible caption length (at most the model's max_length)
         - return_attention: Also return the cross-attention weights of each generated word

        Returns:
         - captions: Captions for each example, a NumPy int64 array of shape (N, max_length)
         - attention (only when return_attention): NumPy float array of shape (N, max_length, P): for each
           generated word, the cross-attention weights of the last decoder layer, averaged over its heads,
           from the position that produced the word; each row sums to 1 (rows after <END> are 0)
        """
        max_length = positive_int("max_length", max_length)
        if max_length > self.max_length:
            raise ValueError(f"max_length = {max_length} exceeds the model's max_length = {self.max_length}")
        if self._start is None:
            raise ValueError("sample needs '<START>' in word_to_idx")
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                memory = self.image_memory(features)                           # (N, P, W)
                N, P, _ = memory.shape
                device = memory.device
                captions = torch.full((N, max_length), self._null, dtype=torch.long, device=device)
                attention = torch.zeros(N, max_length, P, device=device)
                partial = torch.full((N, 1), self._start, dtype=torch.long, device=device)  # (N, 1)
                done = torch.zeros(N, dtype=torch.bool, device=device)
                for t in range(max_length):
                    words = self.positional_encoding(self.embedding(partial))  # (N, t + 1, W)
                    out, weights = self.transformer(words, memory, tgt_mask=self._causal_mask(t + 1, device),
                                                    need_weights=True)
                    # Only the last position predicts the next word.
                    word = self.output(out[:, -1]).argmax(dim=1)               # (N,)
                    word = word.masked_fill(done, self._null)
                    captions[:, t] = word
                    # weights: (N, layers, H, t + 1, P) -> last layer, mean over heads, last query.
                    attention[:, t] = weights[:, -1, :, -1, :].mean(dim=1).masked_fill(done.unsqueeze(1), 0.0)
                    if self._end is not None:
                        done = done | (word == self._end)
                        if bool(done.all()):
                            break
                    partial = torch.cat([partial, word.unsqueeze(1)], dim=1)  # (N, t + 2)
        finally:
            self.train(was_training)
        captions = captions.cpu().numpy()
        return (captions, attention.float().cpu().numpy()) if return_attention else captions


# ----------------------------------------------------------------------------- vision transformer


class VisionTransformer(nn.Module):
    """
    Vision Transformer (ViT): the image is cut into patches, each patch embedded as a vector, a
    positional encoding added, the sequence of patch vectors processed by Transformer encoder layers,
    the patch vectors averaged (mean pooling), and a linear head predicts the class scores.

    The defaults are CS231n's model. Two options, off by default, make it train faster on a CPU budget
    (see helpers.classification_solver_vit.VIT_CIFAR10_MODEL):
    - learned_pos: a learned positional embedding instead of the fixed 1-D sinusoidal one (the image is
      2-D; learned embeddings discover the grid's neighbourhoods);
    - final_norm: a LayerNorm on the pooled vector before the head.
    """

    def __init__(self, img_size=32, patch_size=8, in_channels=3, embed_dim=128, num_layers=6, num_heads=4,
                 dim_feedforward=256, num_classes=10, dropout=0.1, learned_pos=False, final_norm=False):
        """
        Inputs:
         - img_size: Size of input image (assume square)
         - patch_size: Size of each patch (assume square); must divide img_size
         - in_channels: Number of image channels
         - embed_dim: Embedding dimension for each patch
         - num_layers: Number of Transformer encoder layers
         - num_heads: Number of attention heads (embed_dim must be divisible by it)
         - dim_feedforward: Hidden size of the feed-forward networks
         - num_classes: Number of classification labels
         - dropout: Dropout probability
         - learned_pos: Use a learned positional embedding (else CS231n's sinusoidal encoding)
         - final_norm: Apply a LayerNorm to the pooled features before the head
        """
        super().__init__()
        self.num_classes = positive_int("num_classes", num_classes)
        self.patch_embed = PatchEmbedding(img_size, patch_size, in_channels, embed_dim)
        self.positional_encoding = PositionalEncoding(embed_dim, dropout=dropout,
                                                      max_len=self.patch_embed.num_patches)

        encoder_layer = TransformerEncoderLayer(embed_dim, num_heads, dim_feedforward, dropout)
        self.transformer = TransformerEncoder(encoder_layer, num_layers=num_layers)

        # Final classification layer, from the pooled patch vector to the class scores.
        self.head = nn.Linear(embed_dim, num_classes)
        self.apply(self._init_weights)

        # Created after CS231n's modules, so the defaults keep CS231n's random initialization.
        self.pos_embedding = None
        if learned_pos:
            self.pos_embedding = nn.Parameter(0.02 * torch.randn(1, self.patch_embed.num_patches, embed_dim))
            self.positional_encoding = None
            self.pos_drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(embed_dim) if final_norm else nn.Identity()

    def _init_weights(self, module):
        """Initialize the weights of the network."""
        _init_weights(module)

    def forward(self, x):
        """
        Forward pass of the Vision Transformer.

        Inputs:
         - x: Input image tensor of shape (N, C, H, W), H = W = img_size

        Returns:
         - logits: Output classification logits of shape (N, num_classes)
        """
        tokens = self.patch_embed(x)                                           # (N, P, D)
        if self.pos_embedding is None:
            tokens = self.positional_encoding(tokens)                          # (N, P, D)
        else:
            tokens = self.pos_drop(tokens + self.pos_embedding)                # (N, P, D)
        tokens = self.transformer(tokens)                                      # (N, P, D)
        pooled = self.norm(tokens.mean(dim=1))                                 # (N, D)
        return self.head(pooled)                                               # (N, num_classes)
