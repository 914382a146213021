"""Train the three GANs of the notebook with their recipes (helpers.gan.TRAINING_RECIPES) and score
them as the notebook does: FID against the real test digits and mode coverage, on 1,000 samples
of each generator. Prints the numbers and the wall and CPU time of every step.

    python tools/gan_recipes.py                        the current scale (CS231N_SCALE)
    CS231N_SCALE=full python tools/gan_recipes.py      the full scale (needs ./setup_datasets.sh mnist)
    python tools/gan_recipes.py --only dc --num-iterations 1500 --eval-every 250
                                                       try another length, scoring along the way

Seeded: the same settings on the same machine give the same numbers.
"""

import argparse
import json
import resource
import time

import torch

from helpers import gan
from helpers.course.scale import current_scale, pick
from helpers.data.mnist import get_MNIST_data, mnist_loader
from helpers.gan_metrics import (
    NUM_SCORE_SAMPLES,
    classifier_accuracy,
    frechet_distance,
    load_mnist_classifier,
    mode_coverage,
    real_frechet_baseline,
)

GANS = {  # name: (build D, build G, discriminator loss, generator loss, apply initialize_weights)
    "vanilla": (gan.discriminator, gan.generator, gan.discriminator_loss, gan.generator_loss, False),
    "ls": (gan.discriminator, gan.generator, gan.ls_discriminator_loss, gan.ls_generator_loss, False),
    "dc": (lambda: gan.build_dc_classifier(128), gan.build_dc_generator, gan.discriminator_loss, gan.generator_loss,
           True),
}


class Clock:
    """Wall and CPU seconds (this process, user + system) since the last call."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), self._cpu()

    @staticmethod
    def _cpu():
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def lap(self):
        wall, cpu = time.perf_counter(), self._cpu()
        lap = {"wall_s": round(wall - self.wall, 1), "cpu_s": round(cpu - self.cpu, 1)}
        self.wall, self.cpu = wall, cpu
        return lap


def score(G, real, classifier, num_samples, seed):
    samples = gan.sample_generator(G, num_samples, seed=seed)
    coverage = mode_coverage(samples, classifier)
    return {"fid": round(frechet_distance(samples, real, classifier), 3),
            "coverage_min": round(float(coverage.min()), 3), "coverage": [round(float(c), 3) for c in coverage]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", choices=list(GANS), default=list(GANS))
    parser.add_argument("--num-iterations", type=int, help="instead of the recipe's")
    parser.add_argument("--eval-every", type=int, help="also score every this many iterations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()

    clock = Clock()
    results = {"scale": current_scale(), "threads": torch.get_num_threads()}
    data = get_MNIST_data()
    classifier = load_mnist_classifier()
    results["classifier_test_accuracy"] = round(classifier_accuracy(data["X_test"], data["y_test"], classifier), 4)
    num_samples = NUM_SCORE_SAMPLES
    results["fid_real_baseline"] = round(real_frechet_baseline(data["X_train"], data["X_test"], num_samples,
                                                               classifier=classifier), 3)
    results["setup"] = clock.lap()
    print(json.dumps(results))

    for name in args.only:
        build_D, build_G, d_loss, g_loss, xavier = GANS[name]
        recipe = dict(pick(**gan.TRAINING_RECIPES[name]))
        if args.num_iterations:
            recipe.update(num_iterations=args.num_iterations, num_epochs=100)
        torch.manual_seed(args.seed)
        D, G = build_D(), build_G()
        if xavier:
            D.apply(gan.initialize_weights)
            G.apply(gan.initialize_weights)
        D_solver, G_solver = gan.get_optimizer(D), gan.get_optimizer(G)
        loader = mnist_loader(data["X_train"], data["y_train"], batch_size=128, seed=args.seed)
        entry = {"recipe": recipe, "checkpoints": []}
        total = recipe["num_iterations"]
        step = args.eval_every or total
        done = 0
        while done < total:
            chunk = min(step, total - done)
            gan.run_a_gan(D, G, D_solver, G_solver, d_loss, g_loss, loader, show=False,
                          **{**recipe, "num_iterations": chunk, "seed": args.seed + done})
            done += chunk
            entry["checkpoints"].append({"iterations": done, "train": clock.lap(),
                                         **score(G, data["X_test"], classifier, num_samples, args.seed)})
            entry["checkpoints"][-1]["score"] = clock.lap()
            print(name, json.dumps(entry["checkpoints"][-1]), flush=True)
        results[name] = entry
    results["total"] = {key: round(sum(lap[key] for lap in _laps(results)), 1) for key in ("wall_s", "cpu_s")}
    print(json.dumps({k: v for k, v in results.items() if k not in GANS}))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


def _laps(results):
    yield results["setup"]
    for name in GANS:
        for checkpoint in results.get(name, {}).get("checkpoints", []):
            yield checkpoint["train"]
            yield checkpoint["score"]


if __name__ == "__main__":
    main()
