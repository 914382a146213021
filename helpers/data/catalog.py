"""The catalogue of every dataset and pretrained weight the course uses: where each file
comes from (canonical URL or archive member) and the checksums it must match.

Standard library only: `setup_datasets.sh` reads it before any environment exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Digest:
    """An accepted checksum: kind is 'md5', 'sha256', 'sha256-prefix' or 'gunzip-md5'
    (the md5 of the decompressed content of a .gz file)."""
    kind: str
    value: str


@dataclass(frozen=True)
class FileSpec:
    """One installed file. `path` is relative to the datasets folder; `member` is its path
    inside the source archive (if any); `digests` are the accepted checksums (empty: the
    sha256 is recorded on first install and required from then on)."""
    path: str
    member: str | None = None
    digests: tuple[Digest, ...] = ()
    url: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class ArchiveSpec:
    """A downloadable archive that provides some of a dataset's files."""
    url: str
    name: str
    digests: tuple[Digest, ...] = ()
    size: int | None = None


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    description: str
    files: tuple[FileSpec, ...]
    archives: tuple[ArchiveSpec, ...] = ()
    structure_check: str | None = None  # name of a function in STRUCTURE_CHECKS
    notes: str = ""
    extra: dict = field(default_factory=dict)


def _sha(*pairs):
    return tuple(Digest(kind, value) for kind, value in pairs)


CIFAR_ARCHIVE = ArchiveSpec(
    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    name="cifar-10-python.tar.gz",
    digests=_sha(("md5", "c58f30108f718f92721af3b95e74349a")),
    size=170_498_071,
)
# sha256 of the files of the local CIFAR-10 mirror (a reconstruction, see its README).
# Files extracted from the official archive are accepted through the archive's md5.
_CIFAR_MIRROR_SHA256 = {
    "batches.meta": "f962466ef690d46b226450fb9aadc74ba4bc64a76aa526b5827fe4bc5c7125cb",
    "data_batch_1": "96ce624a774e8174ea6c1ad5073a4a0e952f4445124cbd6b17dd44ba2ad033d1",
    "data_batch_2": "22692573f16d36cddd97a721be794ae156dcaeac00b3ef69573329c0318a690c",
    "data_batch_3": "b336f2bd6a6b1b76aa8b6dbe4053b429754c6e798cf2b58ae5025ea8aefed6f2",
    "data_batch_4": "1b5169e20f140b7661286a1670d2c00caca539913fac7f694d4a8d6f3d2cc465",
    "data_batch_5": "9d5fcac56d30719afc9c80349967ff7d3ebb0d10d4c2af47b4be581b6d9b1587",
    "test_batch": "74c93164cabdb9be319a03f90e74235a6c10d94463a7972cbeadf857051e1365",
}

MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_MNIST = {  # file: (md5 of the original .gz, sha256 of the local mirror's copy, md5 of the decompressed content)
    "train-images-idx3-ubyte.gz": ("f68b3c2dcbeaaa9fbdd348bbdeb94873",
                                   "db8f937d487057fb14a9f0fbe97f0bc8d311ab41b750d41e1ff37c43b9e55e19",
                                   "6bbc9ace898e44ae57da46a324031adb"),
    "train-labels-idx1-ubyte.gz": ("d53e105ee54ea40749a09fcbcd1e9432",
                                   "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", None),
    "t10k-images-idx3-ubyte.gz": ("9fb629c4189551a2d022fa330f9573f3",
                                  "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", None),
    "t10k-labels-idx1-ubyte.gz": ("ec29112dd5afa0611ce80d1b7f02629c",
                                  "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", None),
}

_STYLE_ARCHIVE = ArchiveSpec(url="http://cs231n.stanford.edu/assignments/2017/spring1617_assignment3.zip",
                             name="spring1617_assignment3.zip")
_EXTRA_ARCHIVE = ArchiveSpec(url="http://cs231n.stanford.edu/assignments/2017/spring1617_assignment2.zip",
                             name="spring1617_assignment2.zip")
_STYLE_IMAGES = {  # installed path: (member basename, sha256)
    "cs231n_style_images/styles/composition_vii.jpg":
        ("composition_vii.jpg", "8f992ed4aecd6dd56972d7bc8166761de7c94e670ee6effa8fd05f3daeb33409"),
    "cs231n_style_images/styles/starry_night.jpg":
        ("starry_night.jpg", "c31741a09141c2e2d07fc7aa6bdf135c369b804f9433e43fa3ceac19386d1ee6"),
    "cs231n_style_images/styles/the_scream.jpg":
        ("the_scream.jpg", "f3075cddeb974a9ee1d6418f7f33fd05185a7ac7dcb4288bd2805d499a9dcaee"),
    "cs231n_style_images/styles/tubingen.jpg":
        ("tubingen.jpg", "e67d1869f01fd805385c681a80d9ebcf0f70ea4a5fe6127f0606bb1c7f4bf506"),
    "cs231n_style_images/extra/sky.jpg":
        ("sky.jpg", "0821432e1977d34c378b7b192e478af95437c64cf4ed021de13c13d8f48333f9"),
    "cs231n_style_images/extra/kitten.jpg":
        ("kitten.jpg", "39faf9635202b538a7612e69c1d866be487cee7f69d8e166e4b59662d0ec68cf"),
    "cs231n_style_images/extra/puppy.jpg":
        ("puppy.jpg", "29dbe860652938425607ced57f9b67940a1862dea0e66746f1a6bbe5ec23234b"),
}

COCO_FILES = ("coco2014_captions.h5", "coco2014_vocab.json", "train2014_images.txt", "train2014_urls.txt",
              "train2014_vgg16_fc7.h5", "train2014_vgg16_fc7_pca.h5", "val2014_images.txt", "val2014_urls.txt",
              "val2014_vgg16_fc7.h5", "val2014_vgg16_fc7_pca.h5")

DATASETS: dict[str, DatasetSpec] = {
    "cifar10": DatasetSpec(
        "cifar10", "CIFAR-10, python batches (assignments 1-2)",
        files=tuple(FileSpec(f"cifar-10-batches-py/{n}", member=f"cifar-10-batches-py/{n}",
                             digests=_sha(("sha256", s))) for n, s in _CIFAR_MIRROR_SHA256.items()),
        archives=(CIFAR_ARCHIVE,),
    ),
    "mnist": DatasetSpec(
        "mnist", "MNIST, the four IDX .gz files (GANs)",
        files=tuple(FileSpec(f"mnist/{n}", url=MNIST_URL + n,
                             digests=_sha(("md5", md5), ("sha256", sha)) + (_sha(("gunzip-md5", raw)) if raw else ()))
                    for n, (md5, sha, raw) in _MNIST.items()),
    ),
    "styles": DatasetSpec(
        "styles", "style-transfer and notebook images (StyleTransfer, ConvolutionalNetworks)",
        files=tuple(FileSpec(p, member=m, digests=_sha(("sha256", s))) for p, (m, s) in _STYLE_IMAGES.items()),
        archives=(_STYLE_ARCHIVE, _EXTRA_ARCHIVE),
        notes="taken from the public CS231n assignment archives; every image is checked by its sha256",
    ),
    "coco": DatasetSpec(
        "coco", "CS231n COCO captioning set: captions, vocabulary, VGG-16 fc7 features (RNN/LSTM/Transformer)",
        files=tuple(FileSpec(f"coco_captioning/{n}", member=f"coco_captioning/{n}") for n in COCO_FILES),
        archives=(ArchiveSpec(url="http://cs231n.stanford.edu/coco_captioning.zip", name="coco_captioning.zip"),),
        structure_check="coco",
        notes="no checksum is published: the h5 keys and shapes are checked and the sha256 recorded on first install",
    ),
    "imagenet_val": DatasetSpec(
        "imagenet_val", "25 ImageNet validation images with labels (NetworkVisualization)",
        files=(FileSpec("imagenet_val_25.npz", url="http://cs231n.stanford.edu/imagenet_val_25.npz", size=3_940_548),),
        structure_check="imagenet_val",
        notes="no checksum is published: the size and the npz keys are checked and the sha256 recorded",
    ),
    "squeezenet": DatasetSpec(
        "squeezenet", "SqueezeNet 1.1 ImageNet weights from torchvision (NetworkVisualization, StyleTransfer)",
        files=(FileSpec("squeezenet1_1-b8a52dc0.pth", url="https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth",
                        digests=_sha(("sha256-prefix", "b8a52dc0"))),),
    ),
}


@dataclass(frozen=True)
class BundledCheckpoint:
    """A small model the course trains itself and commits under helpers/data/checkpoints/:
    its sha256, and the one command that reproduces it."""
    file: str
    sha256: str
    command: str
    description: str


# Filled by the scripts that train them; see helpers.data.bundled.
BUNDLED_CHECKPOINTS: dict[str, BundledCheckpoint] = {
    "mnist_classifier": BundledCheckpoint(
        "mnist_classifier.pt", "2a1c2bfd8c86b6acc36bcd0aba1664b882edd92020a594490a468f00b8031062",
        "python tools/train_mnist_classifier.py",
        "MNIST digit classifier (small CNN, 0.9923 on the MNIST test set) that scores the GANs: its 128 "
        "penultimate-layer features for the FID, its predictions for mode coverage (helpers.gan_metrics)"),
}
