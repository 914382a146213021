"""Rebuild the small copies of CS231n's four style-transfer images bundled with the course.

Resizes tubingen.jpg, composition_vii.jpg, the_scream.jpg and starry_night.jpg (Tübingen's
Neckarfront photo from CS231n's materials; three public-domain paintings) so that the shorter
side has 256 pixels, and writes JPEGs to helpers/data/samples/styles/, so the StyleTransfer
notebook runs on a fresh clone without any download (`./setup_datasets.sh styles` installs the
full-size files, which the notebook then uses).

    python tools/make_style_samples.py [STYLE_IMAGES_DIR]

STYLE_IMAGES_DIR defaults to ../shared/datasets/cs231n_style_images/styles.
"""

import sys
from pathlib import Path

from PIL import Image

SIZE = 256
NAMES = ("tubingen.jpg", "composition_vii.jpg", "the_scream.jpg", "starry_night.jpg")
TARGET = Path(__file__).resolve().parents[1] / "helpers" / "data" / "samples" / "styles"


def shorter_side_resized(path: Path, size: int = SIZE) -> Image.Image:
    """The image at path, resized so that its shorter side has `size` pixels."""
    image = Image.open(path).convert("RGB")
    scale = size / min(image.size)
    return image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)


def main(source: Path) -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        path = source / name
        if not path.exists():
            raise SystemExit(f"{path} not found: pass the folder holding {', '.join(NAMES)}")
        target = TARGET / name
        shorter_side_resized(path).save(target, quality=90)
        print(f"wrote {target} ({target.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    default = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cs231n_style_images" / "styles"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
