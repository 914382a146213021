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
    # The same content in another form, installed from a mirror that lacks `files` (e.g. the
    # SqueezeNet weights as per-tensor .npy files instead of torchvision's .pth).
    alternative_files: tuple[FileSpec, ...] = ()


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

# SqueezeNet 1.1 from the ONNX model zoo (Apache-2.0) as one float32 NCHW .npy file per tensor, in the
# layout of the public webmachinelearning/test-data repository (models/squeezenet1.1_nchw/), with a
# reference input/output pair; sha256 from the local mirror's SHA256SUMS.
SQUEEZENET_ONNX_FOLDER = "squeezenet1.1_nchw"
_SQUEEZENET_ONNX_SHA256 = {
    "weights/squeezenet0_conv0_bias.npy": "d839d71cc03b17f54b5ed953305830857a9ddb565591ca61813d7eed50c63aff",
    "weights/squeezenet0_conv0_weight.npy": "7b683645fb57cb50770366bb70b9326c65f933ded49c94e512f123cf217b65fb",
    "weights/squeezenet0_conv1_bias.npy": "fadcde3301d37394e72461a97c1358580c8f9115498a25bcf2d419173eb5cd27",
    "weights/squeezenet0_conv1_weight.npy": "1ce1520023137b28f19dce0977efce4e1eefb02bb9166fc6540122f2d6b92f8d",
    "weights/squeezenet0_conv2_bias.npy": "41257eb2ec0eb008bd89a1aa9273200d8d492f82753a482a6db10fe1d4079f6f",
    "weights/squeezenet0_conv2_weight.npy": "93171edce001494813c0d722b53bf0ea727ac1b3188c8c6231a52f6af0b1307e",
    "weights/squeezenet0_conv3_bias.npy": "d82cde4c121c9382628ccf03d67a379b5ecb2b605d0c597d631b93c927951a97",
    "weights/squeezenet0_conv3_weight.npy": "0c4d1c81abdcee7fed2f70b9ddc115e7af2a6c175166d8d91aa1c12588b34a5b",
    "weights/squeezenet0_conv4_bias.npy": "e9f8b5c0047802bc21a162e59166c31b3a4d66e65b5650d439fb28714f03bb72",
    "weights/squeezenet0_conv4_weight.npy": "3cf1b79b6c3582c3cc410a1820d8e3e663dbf1cb4f6d1ef7cfbf9cc193f60490",
    "weights/squeezenet0_conv5_bias.npy": "7503c5ae35610e671235e1fd0cae2ccfcfb25975fe1e6a9ed8497cb2589c0bb4",
    "weights/squeezenet0_conv5_weight.npy": "62813089027316b063ca9b7050b5708fc24f1b1a9669422e239a069d472ddaf6",
    "weights/squeezenet0_conv6_bias.npy": "e3408c56acf6909e21280002854719d4cab4c9a6d7e9ec88c642ea280df187c8",
    "weights/squeezenet0_conv6_weight.npy": "f2a9e58b784198145fb8e657271a85d20089d3dceeb36b95163ff3dbfce8b71f",
    "weights/squeezenet0_conv7_bias.npy": "23d08b5ec0eb8fea8345507535922244951481a71456b50c2983d7bc05331dcd",
    "weights/squeezenet0_conv7_weight.npy": "a5e1543d9062647269ee38a2e0d06954c4970b430d45bc825ecc1ea137665fb4",
    "weights/squeezenet0_conv8_bias.npy": "3865020128de303f8fd01804fb169fb3c0905cd242ead937f29fb767d849528e",
    "weights/squeezenet0_conv8_weight.npy": "3848af4cff32fefe79d747476ebee2a0d8f5a56d958aa197ea230712ab2ebd4b",
    "weights/squeezenet0_conv9_bias.npy": "a9f805be3ffdc7c98dfc0d1d40cd4f0d48577588a033fd7f71cc4372527557c8",
    "weights/squeezenet0_conv9_weight.npy": "8a973e2c6b1575ae5e0cb7d39e766e048c150d16faaa5300aa246d0b9e841753",
    "weights/squeezenet0_conv10_bias.npy": "af84d0f1052987c0794c60c3eba592d2c35a5f847c82e16ab9e9779a4c050c8f",
    "weights/squeezenet0_conv10_weight.npy": "a25eb0e57ca2c17935e1a05ff5b53b3fc01ade651f9e869753d9861b9e6a0d54",
    "weights/squeezenet0_conv11_bias.npy": "0ccc6ae9c24331885e98f1ede0d7cae1703e2f755c0864cae96a9c8c567cca41",
    "weights/squeezenet0_conv11_weight.npy": "691517b378d6bb2f37239e568dff5816e237d24052ce7e07ca8e392649da108c",
    "weights/squeezenet0_conv12_bias.npy": "e116599a94f680759aa2a9d4eadb0b5d00b35e73d28793f6eca1f955d9b9c590",
    "weights/squeezenet0_conv12_weight.npy": "7e904cacf74afb5c09f01365e8457dc822ba1ad606bcc1b52c2b3f197749e78d",
    "weights/squeezenet0_conv13_bias.npy": "d7e04717a2fc3a2a5aba9930250381e55e2a80743c017e03626bdf201bdd4368",
    "weights/squeezenet0_conv13_weight.npy": "baf4daf563b1948a9ac62cc8322b4a70b46a0e4a416b52d3b9da8037e0aaa977",
    "weights/squeezenet0_conv14_bias.npy": "4cb6f82aac9a7b5658b65696ac0f88edc9abcbfc3eb9f81c04c2ea28640b725a",
    "weights/squeezenet0_conv14_weight.npy": "23f00c612b4bf08ee9fae73605235c88da315fb45ad3029317a4311c2ce6c149",
    "weights/squeezenet0_conv15_bias.npy": "20c24cf9caaa623a72f28b68fea379498db75f0f5f21ff30610c048d87bcc597",
    "weights/squeezenet0_conv15_weight.npy": "150b3888227fa38e189f917bf2b7b578ae0a333ce74c66eea55fd5bbc44e0de3",
    "weights/squeezenet0_conv16_bias.npy": "0f47dc63f5af8a0eebe238e0def5f151580e45f975bbe3cdcce2f8c0d654e117",
    "weights/squeezenet0_conv16_weight.npy": "d8314eb61cd30ee7f2980362414c9d22669c797b9c1f4d86a5dcf8cebda03b27",
    "weights/squeezenet0_conv17_bias.npy": "bd5e98c72a96065f3f620565bd30245e8b7e395a50c7bfb651781fc86e7f7662",
    "weights/squeezenet0_conv17_weight.npy": "bb4d9029a48742930e61eeb246acbe34809491862dcd93a7ba138ce385938662",
    "weights/squeezenet0_conv18_bias.npy": "48825487b5a1e7d530646f134daf0ae5807ef3691dbd37111b6e190baacc15fe",
    "weights/squeezenet0_conv18_weight.npy": "7fe4188b2ca3a919b33d28452114d8dbc5df26a2d09c15bded65cfca436a93ef",
    "weights/squeezenet0_conv19_bias.npy": "901027acea7e8ae41d7bfc9e1038a7616774d473947b43e4db7a7760207f0312",
    "weights/squeezenet0_conv19_weight.npy": "2dd26975e030d6ca7ec792acf54d87a71d4933de007776dcb399737d32227a85",
    "weights/squeezenet0_conv20_bias.npy": "4668ae0e7d34fbda181b29c0010143b8829e1c4014c5daae39b0574da6ff5a7c",
    "weights/squeezenet0_conv20_weight.npy": "21dadc3d2c719e1b439b7acc4f810c8b2440c9058b3131e702c8c929bbe111a7",
    "weights/squeezenet0_conv21_bias.npy": "a9f8614f63eb4e685cbe3c919fa0a1f4d5892644aa40befd898712c7b0293aa1",
    "weights/squeezenet0_conv21_weight.npy": "dae3258e268cc672f351cb86e97e8dc04d2c63bedd7104b20a80589227a5dfcc",
    "weights/squeezenet0_conv22_bias.npy": "869c4016f28b5457b331ce08341a0e7ad4ce8555d88378577deec55f9b5d2d2c",
    "weights/squeezenet0_conv22_weight.npy": "dec7a099f29684c862157e65807f5ffe7b87005d29e10dd2f196391510f4c242",
    "weights/squeezenet0_conv23_bias.npy": "dc34c019b96ec4f4159ca2ef138aed88658f8a8d9d0bebc4d198e27ad8f21e96",
    "weights/squeezenet0_conv23_weight.npy": "df67bca481ac4c47e812febcbb495c6c11e412d74db6ae3d7021b9f8484ca5e1",
    "weights/squeezenet0_conv24_bias.npy": "545847e5d6714aab2178814154a83350e81da64834151daf506af469e3aad5e5",
    "weights/squeezenet0_conv24_weight.npy": "d032cc945f16d3177397b9790fff5add19e787180e9acc88e4a7a8c2487e7d32",
    "weights/squeezenet0_conv25_bias.npy": "7f60e7dbb3b9f8124c078839392c45e936794bd3c8213179f0a9507605cddc0d",
    "weights/squeezenet0_conv25_weight.npy": "128b4928aaf31f7a9bef42ffd18cef64d01affc2b00dd77bb4d8ef9a7d1019ea",
    "test_data_set/0/input_0.npy": "d8aa2a20f4f4ea4295807d2add34125b3c8fdf5a9bd749e37d0f6f43d9354f68",
    "test_data_set/0/output_0.npy": "638de6f3138cb5422429c119531694badb3455d9ba10e2b048b44d1ed7040b94",
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
        files=(FileSpec("imagenet_val_25.npz", url="http://cs231n.stanford.edu/imagenet_val_25.npz", size=3_940_548,
                        digests=_sha(("sha256", "35141609d22457c791e8fbe10c2d3b09ed0d6a04b669173e9fbebb0b4915cd3c"))),),
        structure_check="imagenet_val",
        notes="CS231n publishes no checksum: the size and the sha256 are pinned from the local mirror's copy",
    ),
    "squeezenet": DatasetSpec(
        "squeezenet", "SqueezeNet 1.1 ImageNet weights (NetworkVisualization, StyleTransfer)",
        files=(FileSpec("squeezenet1_1-b8a52dc0.pth", url="https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth",
                        digests=_sha(("sha256-prefix", "b8a52dc0"))),),
        alternative_files=tuple(FileSpec(f"{SQUEEZENET_ONNX_FOLDER}/{n}", digests=_sha(("sha256", s)))
                                for n, s in _SQUEEZENET_ONNX_SHA256.items()),
        structure_check="squeezenet",
        notes="downloads torchvision's weights (sha256 prefix in the name); a local mirror may hold instead the "
              "ONNX-zoo weights of the same architecture as per-tensor .npy files, verified by their reference "
              "input/output pair",
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
    "scene_encoder": BundledCheckpoint(
        file="scene_encoder.pt",
        sha256="1bf07da0adc9fc31fd1297d263b2d5d07d7f60af3f4d6caeaad265cdd8f1a192",
        command="python tools/train_scene_encoder.py",
        description="the CNN that turns a generated 64x64 scene into a 512-d vector and a 4x4x128 grid "
                    "(helpers.data.scene_encoder), what VGG-16 is to the COCO captioning features",
    ),
    "mnist_classifier": BundledCheckpoint(
        "mnist_classifier.pt", "2a1c2bfd8c86b6acc36bcd0aba1664b882edd92020a594490a468f00b8031062",
        "python tools/train_mnist_classifier.py",
        "MNIST digit classifier (small CNN, 0.9923 on the MNIST test set) that scores the GANs: its 128 "
        "penultimate-layer features for the FID, its predictions for mode coverage (helpers.gan_metrics)"),
    "cifar10_resnet9": BundledCheckpoint(
        file="cifar10_resnet9.pt",
        sha256="c783c3fa9a9916250a1c3a44cbe134bc1522c18fa1a8c64db08ffadc9eb119ca",
        command="python tools/train_cifar10_model.py  # 6 epochs, seed 0, after ./setup_datasets.sh cifar10",
        description="the PyTorch notebook's ResNet9 (24-48-96-192) trained on CIFAR-10, float16 weights; "
                    "84.4% test accuracy (86.2% validation): the visualization notebooks' model without SqueezeNet",
    ),
}
