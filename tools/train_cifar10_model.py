"""Train the CIFAR-10 network that the visualization notebooks use when SqueezeNet is not installed.

The model is the PyTorch notebook's open-ended network (`helpers.pytorch.open_ended.ResNet9`,
widths 24-48-96-192) with the notebook's recipe: random crops and flips, SGD with Nesterov
momentum and a one-cycle schedule, bfloat16 autocast where the CPU computes it natively. One
change: no label smoothing, so that the softmax probabilities the visualizations read
(class visualization, occlusion) are the model's own and can approach 1.

    ./setup_datasets.sh --from ../shared/datasets cifar10     # or ./setup_datasets.sh cifar10
    nice -n 10 python tools/train_cifar10_model.py             # 6 epochs, seed 0

It trains on the first 49000 training images, reports the accuracy on the 1000 after them and
on the 10000 test images, and writes helpers/data/checkpoints/cifar10_resnet9.pt: the state dict
in float16 (half the size; the loader converts it back to float32) with the widths, the
normalization and the measured accuracies. The printed sha256 goes into
BUNDLED_CHECKPOINTS["cifar10_resnet9"] in helpers/data/catalog.py. Floating-point reductions in
the CPU kernels depend on the thread count and the hardware, so a rerun gives a model of the same
accuracy, not the same bytes.
"""

import argparse
import hashlib
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers.data.cifar10 import CIFAR10_CLASSES, CIFAR10_FOLDER, load_CIFAR10  # noqa: E402
from helpers.data.paths import dataset_path  # noqa: E402
from helpers.pytorch import open_ended  # noqa: E402
from helpers.pytorch.data import CIFAR10_MEAN, CIFAR10_STD, augmentation_transform, make_loader, normalize_images  # noqa: E402
from helpers.pytorch.modules import check_accuracy_part34, train_part34  # noqa: E402

WIDTHS = (24, 48, 96, 192)
DEFAULT_OUT = ROOT / "helpers" / "data" / "checkpoints" / "cifar10_resnet9.pt"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.2, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--num-training", type=int, default=49000, help="training images (the next 1000 validate)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    X_train, y_train, X_test, y_test = load_CIFAR10(dataset_path("cifar10", CIFAR10_FOLDER, "data_batch_1").parent)
    num_training = args.num_training
    train = normalize_images(X_train[:num_training]), torch.from_numpy(y_train[:num_training])
    val_rows = slice(num_training, num_training + 1000)
    val = normalize_images(X_train[val_rows]), torch.from_numpy(y_train[val_rows])
    test = normalize_images(X_test), torch.from_numpy(y_test)
    loader_train = make_loader(*train, batch_size=args.batch_size, shuffle=True, transform=augmentation_transform(),
                               seed=args.seed)
    loader_val = make_loader(*val, batch_size=500)
    loader_test = make_loader(*test, batch_size=500)

    device = torch.device("cpu")
    amp_dtype = open_ended.default_autocast_dtype(device)
    model, optimizer, scheduler = open_ended.build_open_ended(device, widths=WIDTHS, epochs=args.epochs,
                                                              steps_per_epoch=len(loader_train), lr=args.lr,
                                                              seed=args.seed)
    print(f"ResNet9 {WIDTHS}, {sum(p.numel() for p in model.parameters()):,} parameters, {args.epochs} epochs, "
          f"batch {args.batch_size}, mixed precision {amp_dtype}, {torch.get_num_threads()} threads")
    started, cpu_started = time.perf_counter(), time.process_time()
    history = train_part34(model, optimizer, loader_train, loader_val, device, epochs=args.epochs,
                           scheduler=scheduler, autocast_dtype=amp_dtype, progress=False, print_every=50)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    model = model.to(memory_format=torch.contiguous_format).eval()
    # Accuracies of the float32 model as the notebooks run it: no autocast, no test-time flips.
    val_acc = check_accuracy_part34(loader_val, model)
    test_acc = check_accuracy_part34(loader_test, model)
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    test_acc_fp16 = check_accuracy_part34(loader_test, model)
    checkpoint = {
        "model": "ResNet9", "widths": list(WIDTHS), "num_classes": len(CIFAR10_CLASSES),
        "classes": list(CIFAR10_CLASSES), "mean": list(CIFAR10_MEAN), "std": list(CIFAR10_STD),
        "epochs": args.epochs, "seed": args.seed, "val_accuracy": val_acc, "test_accuracy": test_acc_fp16,
        "train_seconds": round(wall, 1), "state_dict": state,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    torch.save(checkpoint, tmp)
    tmp.replace(args.out)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"trained in {wall:.0f} s wall, {cpu:.0f} s CPU; per epoch {[round(s) for s in history['epoch_seconds']]}")
    print(f"val accuracy {val_acc:.4f}; test accuracy {test_acc:.4f} (float32), {test_acc_fp16:.4f} (float16 weights)")
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes), sha256 {digest}")


if __name__ == "__main__":
    main()
