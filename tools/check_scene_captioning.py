"""Check that the generated captioning set can be learned from its features.

    CS231N_SCALE=full python tools/check_scene_captioning.py [--cell lstm|rnn] [--iterations N] [--oracle]

Trains a small PyTorch captioner with the architecture of CS231n's CaptioningRNN (the image's
512-d feature -> initial hidden state; word embeddings -> RNN or LSTM -> scores over the
vocabulary; teacher forcing, softmax loss) on the generated set of the current scale, then
reports fact accuracy, BLEU-1..4 and CIDEr-D of its greedy captions on val and val_novel.
This tells whether the course's captioning targets are within reach of the data; it is not the
course's model (that one is helpers.classifiers.rnn, in NumPy).

With --oracle the captioner reads the scenes' ground truth instead of the encoder's features
(oracle_features: the encoder's slot targets, each object's colour, shape and size one-hot and
its centre), which separates
what the captioner and its recipe can learn from what the features carry.
"""

import argparse
import collections
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.captioning_eval import caption_scores, format_scores_table  # noqa: E402
from helpers.coco_utils import decode_captions, load_coco_data, load_scene_ground_truth  # noqa: E402
from helpers.data.scene_encoder import scene_targets  # noqa: E402
from helpers.data.scenes import COLORS, SHAPES, SIZES, check_caption  # noqa: E402

# Failure reasons of check_caption, by kind.
_KINDS = [("unparseable", r"unparseable|empty"), ("an object that is not there", r"^there is no"),
          ("wrong size", r" is (small|large), not"), ("false relation", r" is not (left|right|above|below)"),
          ("missing object", r"^does not name"), ("named twice", r"twice")]


def oracle_features(scenes):
    """
    The ground truth as a feature vector: the scene encoder's slot targets (objects in salience
    order, the order captions name them), each slot's presence, colour, shape and size one-hot and
    its centre as a fraction of the image side.

    Returns an array of shape (N, SLOTS * (1 + len(COLORS) + len(SHAPES) + len(SIZES) + 2)).
    """
    slots = scene_targets(scenes)["slots"]
    one_hot = [nn.functional.one_hot(slots[key].clamp(min=0), len(values)) * slots["present"][..., None]
               for key, values in (("color", COLORS), ("shape", SHAPES), ("size", SIZES))]  # (N, SLOTS, classes)
    features = torch.cat([slots["present"][..., None], *one_hot, slots["position"]], dim=-1)  # (N, SLOTS, width)
    return features.flatten(1).float().numpy()  # (N, SLOTS * width)


def breakdown(captions, scenes):
    """Fact accuracy by number of objects, and what went wrong."""
    verdicts = [check_caption(c, s) for c, s in zip(captions, scenes, strict=True)]
    counts = np.array([len(s.objects) for s in scenes])
    right = np.array([v.correct for v in verdicts])
    by_count = ", ".join(f"{k} objects {right[counts == k].mean():.3f}" for k in (1, 2, 3) if (counts == k).any())
    kinds = collections.Counter(next(name for name, pattern in _KINDS if re.search(pattern, v.reason))
                                for v in verdicts if not v.correct)
    return f"{by_count}; errors: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common())


class Captioner(nn.Module):
    def __init__(self, vocab_size, feature_dim=512, wordvec_dim=256, hidden_dim=512, cell="lstm"):
        super().__init__()
        self.cell = cell
        self.project = nn.Linear(feature_dim, hidden_dim)
        self.embed = nn.Embedding(vocab_size, wordvec_dim)
        self.rnn = (nn.LSTM if cell == "lstm" else nn.RNN)(wordvec_dim, hidden_dim, batch_first=True)
        self.scores = nn.Linear(hidden_dim, vocab_size)

    def initial_state(self, features):
        h0 = self.project(features)[None]  # (1, N, H)
        return (h0, torch.zeros_like(h0)) if self.cell == "lstm" else h0

    def forward(self, features, captions_in):
        out, _ = self.rnn(self.embed(captions_in), self.initial_state(features))  # (N, T, H)
        return self.scores(out)  # (N, T, V)

    @torch.inference_mode()
    def sample(self, features, start, max_length=16):
        state = self.initial_state(features)
        word = torch.full((len(features), 1), start, dtype=torch.long)
        words = []
        for _ in range(max_length):
            out, state = self.rnn(self.embed(word), state)
            word = self.scores(out).argmax(-1)  # (N, 1)
            words.append(word)
        return torch.cat(words, 1).numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cell", choices=("lstm", "rnn"), default="lstm")
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--oracle", action="store_true", help="read the ground truth instead of the features")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    data = load_coco_data()
    if args.oracle:
        for split in ("train", "val", "val_novel"):
            n = len(data[f"{split}_features"])
            data[f"{split}_features"] = oracle_features(load_scene_ground_truth(data, split, np.arange(n)))
    words = data["idx_to_word"]
    captions = torch.from_numpy(data["train_captions"].astype(np.int64))
    features = torch.from_numpy(data["train_features"])
    owners = torch.from_numpy(data["train_image_idxs"].astype(np.int64))
    model = Captioner(len(words), features.shape[1], hidden_dim=args.hidden, cell=args.cell)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.iterations)
    loss_fn = nn.CrossEntropyLoss(ignore_index=data["word_to_idx"]["<NULL>"])
    rng = torch.Generator().manual_seed(args.seed)
    val_scenes = load_scene_ground_truth(data, "val", np.arange(500))
    t0, c0 = time.time(), time.process_time()
    for it in range(args.iterations):
        idx = torch.randint(len(captions), (args.batch_size,), generator=rng)
        batch = captions[idx]
        scores = model(features[owners[idx]], batch[:, :-1])
        loss = loss_fn(scores.reshape(-1, scores.shape[-1]), batch[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if (it + 1) % 500 == 0 or it == 0:
            sampled = model.sample(torch.from_numpy(data["val_features"][:500]), data["word_to_idx"]["<START>"])
            right = np.mean([check_caption(c, s).correct for c, s in zip(decode_captions(sampled, words), val_scenes,
                                                                          strict=True)])
            print(f"iteration {it + 1}/{args.iterations}: loss {loss.item():.4f}, val fact accuracy (500 images) "
                  f"{right:.3f} ({time.time() - t0:.0f} s)", flush=True)
    print(f"trained {args.cell} in {time.time() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU")
    rows = {}
    for split in ("train", "val", "val_novel"):
        n = min(len(data[f"{split}_features"]), 2000)
        idxs = np.arange(n)
        sampled = model.sample(torch.from_numpy(data[f"{split}_features"][:n]), data["word_to_idx"]["<START>"])
        rows[f"{args.cell} greedy, {split}"] = caption_scores(data, split, idxs, sampled)
        if split != "train":
            captions = decode_captions(sampled, words)
            print(f"{split}: {breakdown(captions, load_scene_ground_truth(data, split, idxs))}")
            for caption in captions[:3]:
                print(f"  {caption}")
    print(format_scores_table(rows))


if __name__ == "__main__":
    main()
