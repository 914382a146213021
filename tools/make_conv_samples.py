"""Rebuild the two photos of the ConvolutionalNetworks notebook's image-processing demo.

Center-crops kitten.jpg and puppy.jpg (the CS231n style images) to a square, resizes them
to 200x200 and writes small JPEGs to helpers/data/samples/, so the demo runs on a fresh
clone without any download.

    python tools/make_conv_samples.py [STYLE_IMAGES_DIR]

STYLE_IMAGES_DIR defaults to ../shared/datasets/cs231n_style_images/extra.
"""

import sys
from pathlib import Path

from PIL import Image

from helpers.data.cifar10 import SAMPLE_PATH

SIZE = 200
NAMES = ("kitten.jpg", "puppy.jpg")


def square_resized(path: Path, size: int = SIZE) -> Image.Image:
    """Center-crop the image at path to a square and resize it to size x size pixels."""
    image = Image.open(path).convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)


def main(source: Path) -> None:
    for name in NAMES:
        path = source / name
        if not path.exists():
            raise SystemExit(f"{path} not found: pass the folder holding {', '.join(NAMES)}")
        target = SAMPLE_PATH.parent / name
        square_resized(path).save(target, quality=90)
        print(f"wrote {target} ({target.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    default = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cs231n_style_images" / "extra"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
