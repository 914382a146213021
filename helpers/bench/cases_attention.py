"""Benchmark cases of the Transformer notebook: multi-head self-attention at growing sequence lengths.

Three implementations of the same computation, with the same weights, in evaluation mode (no dropout),
forward only:
- naive: transformer_layers.multi_head_attention_naive, one head at a time in a Python loop
- vectorized: transformer_layers.MultiHeadAttention, all heads in one batched matrix product
- sdpa: transformer_layers.multi_head_attention_sdpa, torch.nn.functional.scaled_dot_product_attention
on the CPU, and the last two on a CUDA GPU when there is one.

One case per sequence length S (16 to 1024). The flop count is that of the four projections,
8 N S E^2, plus the two products with the (S, S) attention matrix, 4 N S^2 E: the second term is
quadratic in S and dominates from S = 2E on. The (N, H, S, S) weights also dominate the memory traffic:
at long sequences the vectorized layer, which stores them for all heads at once, is limited by memory
bandwidth (it can fall behind the head loop, whose one head's weights stay in cache), while the fused
kernel of scaled_dot_product_attention never stores them.
"""

from helpers.bench.harness import Case, Impl, Target, cuda_skip, cuda_sync

BATCH, EMBED, HEADS = 4, 128, 8
LENGTHS = (16, 64, 256, 1024)
QUICK_BATCH, QUICK_EMBED, QUICK_HEADS = 2, 16, 2
QUICK_LENGTHS = (4, 8, 16, 32)


def attention_flops(N, S, E) -> float:
    """Multiply-adds (x2) of multi-head self-attention: projections 8 N S E^2, attention 4 N S^2 E."""
    return 8.0 * N * S * E * E + 4.0 * N * S * S * E


def _build_attention(length_index):
    def build(quick: bool) -> list[Impl]:
        import copy

        import torch

        from helpers.transformer_layers import (
            MultiHeadAttention,
            multi_head_attention_naive,
            multi_head_attention_sdpa,
        )

        N, E, H = (QUICK_BATCH, QUICK_EMBED, QUICK_HEADS) if quick else (BATCH, EMBED, HEADS)
        S = (QUICK_LENGTHS if quick else LENGTHS)[length_index]
        torch.manual_seed(0)
        attn = MultiHeadAttention(E, H).eval()
        x = torch.randn(N, S, E)
        functions = {"naive": multi_head_attention_naive, "vectorized": lambda m, q, k, v: m(q, k, v),
                     "sdpa": multi_head_attention_sdpa}

        def timed(fn, module, xd, sync):
            def run():
                with torch.no_grad():
                    out = fn(module, xd, xd, xd)
                sync()
                return out
            return run

        impls = [Impl(key, timed(functions[key], attn, x, lambda: None)) for key in ("naive", "vectorized", "sdpa")]
        skip = cuda_skip()
        if skip:
            return impls + [Impl(f"{key}_cuda", None, skip=skip) for key in ("vectorized", "sdpa")]
        # A copy on the GPU: .to() moves a module in place, and the CPU rows keep theirs.
        attn_cuda, x_cuda = copy.deepcopy(attn).to("cuda"), x.to("cuda")
        return impls + [Impl(f"{key}_cuda", timed(functions[key], attn_cuda, x_cuda, cuda_sync))
                        for key in ("vectorized", "sdpa")]

    return build


def _case_list() -> list[Case]:
    cases = []
    for i, (S, qS) in enumerate(zip(LENGTHS, QUICK_LENGTHS, strict=True)):
        cases.append(Case(f"attention_S{S}", "assignment3 Transformer",
                          f"self-attention N={BATCH} S=T={S} E={EMBED} H={HEADS} float32",
                          attention_flops(BATCH, S, EMBED), _build_attention(i),
                          f"self-attention N={QUICK_BATCH} S=T={qS} E={QUICK_EMBED} H={QUICK_HEADS} float32",
                          attention_flops(QUICK_BATCH, qS, QUICK_EMBED)))
    return cases


CASES = _case_list()
TARGETS = [
    Target("attention S=1024: scaled_dot_product_attention >= 2x the vectorized MultiHeadAttention",
           "attention_S1024", "sdpa", 2, "vectorized"),
]
