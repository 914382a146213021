"""Fetch, verify and install every dataset and pretrained weight the course uses.

Run through `./setup_datasets.sh` (this file needs only the Python standard library,
plus h5py for the structural check of the COCO files when it is installed). What is
fetched, from where, and the checksums it must match are in `helpers.data.catalog`.

    ./setup_datasets.sh                      everything, downloaded from the canonical URLs
    ./setup_datasets.sh cifar10 mnist        only these
    ./setup_datasets.sh --from DIR cifar10   copy from a local mirror instead of downloading
    ./setup_datasets.sh --list               what there is, and what is installed

Every file is checked against a pinned checksum where one is published (or where the
course pins one); where none is, its structure is checked and its sha256 is recorded on
first install in datasets/checksums.json, so a later copy that differs is rejected.
Files are written atomically (temporary file, verify, rename): an interrupted or corrupt
download never replaces a good copy. Installing again is a no-op.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script by setup_datasets.sh: make `helpers` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from helpers.data.catalog import (  # noqa: E402
    DATASETS,
    SQUEEZENET_ONNX_FOLDER,
    ArchiveSpec,
    DatasetSpec,
    Digest,
    FileSpec,
)

CHUNK = 1 << 20


class FetchError(RuntimeError):
    """Something could not be fetched or verified; the message says what and how to retry."""


# ----------------------------------------------------------------------------- checksums

def file_digest(path: Path, kind: str) -> str:
    algorithm = "md5" if kind in ("md5", "gunzip-md5") else "sha256"
    h = hashlib.new(algorithm)
    opener = gzip.open if kind == "gunzip-md5" else open
    try:
        with opener(path, "rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
    except (OSError, EOFError) as error:  # e.g. not gzip data, or a truncated gzip stream
        return f"unreadable ({error})"
    return h.hexdigest()


def matches(path: Path, digests: tuple[Digest, ...]) -> bool:
    for d in digests:
        actual = file_digest(path, d.kind)
        if (actual.startswith(d.value) if d.kind == "sha256-prefix" else actual == d.value):
            return True
    return False


def _describe_digests(digests) -> str:
    return " or ".join(f"{d.kind} {d.value}" for d in digests)


class Recorded:
    """sha256 values recorded on first install, for files without a published checksum."""

    def __init__(self, root: Path):
        self.path = root / "checksums.json"
        self.data = json.loads(self.path.read_text()) if self.path.exists() else {}

    def get(self, rel: str) -> str | None:
        return self.data.get(rel)

    def set(self, rel: str, value: str) -> None:
        self.data[rel] = value
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, sort_keys=True) + "\n")
        tmp.replace(self.path)


# ----------------------------------------------------------------------------- I/O helpers

def _progress(label: str, done: int, total: int | None, started: float) -> None:
    if not sys.stderr.isatty() and total and done < total and done % (16 * CHUNK):
        return
    rate = done / max(time.time() - started, 1e-6) / 1e6
    if total:
        sys.stderr.write(f"\r  {label}: {100 * done / total:5.1f}% of {total / 1e6:.1f} MB ({rate:.1f} MB/s)")
    else:
        sys.stderr.write(f"\r  {label}: {done / 1e6:.1f} MB ({rate:.1f} MB/s)")
    sys.stderr.flush()


def download(url: str, dest: Path, expected_size: int | None = None) -> None:
    """Download url to dest (a temporary path chosen by the caller), showing progress."""
    started = time.time()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or expected_size
            done = 0
            while chunk := response.read(CHUNK):
                out.write(chunk)
                done += len(chunk)
                _progress(dest.name.split(".part")[0], done, total, started)
        sys.stderr.write("\n")
    except OSError as error:
        raise FetchError(f"could not download {url}: {error}") from error
    if expected_size is not None and dest.stat().st_size != expected_size:
        raise FetchError(f"{url}: got {dest.stat().st_size} bytes, expected {expected_size} "
                         "(the download was cut short or the file changed)")


def _copy(src: Path, dest: Path) -> None:
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        shutil.copyfileobj(fin, fout, CHUNK)


def _temp_beside(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    return Path(name)


# ----------------------------------------------------------------------------- installing

class Installer:
    """Installs datasets into `root`, downloading or copying from `mirror`."""

    def __init__(self, root: Path, mirror: Path | None = None, log=print):
        self.root = root
        self.mirror = mirror
        self.log = log
        self.recorded = Recorded(root)

    # -- verification of one candidate file (temporary), before it replaces anything
    def _verify(self, spec: FileSpec, candidate: Path, origin: str) -> None:
        if spec.size is not None and candidate.stat().st_size != spec.size:
            raise FetchError(f"{origin}: {candidate.stat().st_size} bytes, expected {spec.size}; "
                             f"not installed (the previous copy of {spec.path}, if any, is kept)")
        if spec.digests:
            if not matches(candidate, spec.digests):
                raise FetchError(f"{origin}: checksum mismatch for {spec.path} (expected "
                                 f"{_describe_digests(spec.digests)}); not installed, the previous copy is kept")
            return
        recorded = self.recorded.get(spec.path)
        if recorded and file_digest(candidate, "sha256") != recorded:
            raise FetchError(f"{origin}: sha256 of {spec.path} differs from the one recorded on first install "
                             f"({recorded}); not installed. Delete {self.recorded.path} to accept a new version.")

    def _install_file(self, spec: FileSpec, candidate: Path, origin: str) -> None:
        """Verify `candidate` (a temporary file beside the target) and move it into place."""
        target = self.root / spec.path
        try:
            self._verify(spec, candidate, origin)
            if not spec.digests and not self.recorded.get(spec.path):
                self.recorded.set(spec.path, file_digest(candidate, "sha256"))
            candidate.replace(target)
        finally:
            candidate.unlink(missing_ok=True)

    def installed(self, spec: DatasetSpec) -> bool:
        return any(files and all((self.root / f.path).exists() for f in files)
                   for files in (spec.files, spec.alternative_files))

    def install(self, spec: DatasetSpec, force: bool = False) -> None:
        if self.installed(spec) and not force:
            self.log(f"[{spec.name}] already installed in {self.root}")
            return
        self.log(f"[{spec.name}] {spec.description}")
        if self.mirror is not None:
            self._from_mirror(spec)
        else:
            self._download(spec)
        if spec.structure_check:
            STRUCTURE_CHECKS[spec.structure_check](self.root)
        self.log(f"[{spec.name}] installed and verified")

    # -- a local mirror: the installed layout, or the archive files
    def _from_mirror(self, spec: DatasetSpec) -> None:
        missing = [f for f in spec.files if not (self.mirror / f.path).exists()]
        if missing and spec.alternative_files and all((self.mirror / f.path).exists() for f in spec.alternative_files):
            missing, files = [], spec.alternative_files
        else:
            files = spec.files
        if not missing:
            for f in files:
                candidate = _temp_beside(self.root / f.path)
                _copy(self.mirror / f.path, candidate)
                self._install_file(f, candidate, f"{self.mirror / f.path}")
            return
        archives = [a for a in spec.archives if (self.mirror / a.name).exists()]
        if archives:
            for archive in archives:
                self._install_from_archive(spec, archive, self.mirror / archive.name)
            return
        names = ", ".join(str(self.mirror / f.path) for f in missing)
        raise FetchError(f"[{spec.name}] the mirror {self.mirror} lacks {names}"
                         + (f" (and the archive {spec.archives[0].name})" if spec.archives else "")
                         + (f" (and the alternative {spec.alternative_files[0].path.split('/')[0]}/)"
                            if spec.alternative_files else ""))

    # -- the canonical URLs
    def _download(self, spec: DatasetSpec) -> None:
        for f in spec.files:
            if f.url:
                candidate = _temp_beside(self.root / f.path)
                try:
                    download(f.url, candidate, f.size)
                except FetchError:
                    candidate.unlink(missing_ok=True)
                    raise
                self._install_file(f, candidate, f.url)
        for archive in spec.archives:
            tmp = _temp_beside(self.root / archive.name)
            try:
                download(archive.url, tmp, archive.size)
                self._install_from_archive(spec, archive, tmp)
            finally:
                tmp.unlink(missing_ok=True)

    def _install_from_archive(self, spec: DatasetSpec, archive: ArchiveSpec, path: Path) -> None:
        if archive.size is not None and path.stat().st_size != archive.size:
            raise FetchError(f"{path}: {path.stat().st_size} bytes, expected {archive.size}")
        if archive.digests and not matches(path, archive.digests):
            raise FetchError(f"{path}: checksum mismatch (expected {_describe_digests(archive.digests)}); "
                             "nothing was installed")
        trusted = bool(archive.digests)  # members of a verified archive need no checksum of their own
        for f in spec.files:
            member = self._read_member(path, f.member)
            if member is None:
                continue
            candidate = _temp_beside(self.root / f.path)
            with open(candidate, "wb") as out:
                shutil.copyfileobj(member, out, CHUNK)
            member.close()
            if trusted and f.digests:
                candidate.replace(self.root / f.path)
            else:
                self._install_file(f, candidate, f"{archive.name}:{f.member}")
        missing = [f.path for f in spec.files if not (self.root / f.path).exists()]
        if missing and archive is spec.archives[-1]:
            raise FetchError(f"[{spec.name}] {', '.join(missing)} not found in the archives")

    @staticmethod
    def _read_member(path: Path, member: str | None):
        """Open the archive member whose path ends with `member` (archives nest a top folder)."""
        if member is None:
            return None
        if zipfile.is_zipfile(path):
            z = zipfile.ZipFile(path)
            for info in z.infolist():
                if info.filename == member or info.filename.endswith("/" + member):
                    return z.open(info)
            return None
        with tarfile.open(path) as t:
            for info in t.getmembers():
                if info.isfile() and (info.name == member or info.name.endswith("/" + member)):
                    data = t.extractfile(info)
                    buffer = tempfile.TemporaryFile()
                    shutil.copyfileobj(data, buffer, CHUNK)
                    buffer.seek(0)
                    return buffer
        return None


# ----------------------------------------------------------------------------- structure checks

def _check_coco(root: Path) -> None:
    try:
        import h5py
    except ImportError:
        print("[coco] h5py is not installed: skipping the check of the h5 structure (make env installs it)")
        return
    folder = root / "coco_captioning"
    with h5py.File(folder / "coco2014_captions.h5", "r") as f:
        for split in ("train", "val"):
            captions, idxs = f[f"{split}_captions"], f[f"{split}_image_idxs"]
            if captions.ndim != 2 or idxs.shape != (captions.shape[0],):
                raise FetchError(f"coco2014_captions.h5: {split}_captions {captions.shape} and "
                                 f"{split}_image_idxs {idxs.shape} do not match")
    for split in ("train2014", "val2014"):
        for suffix, dim in (("vgg16_fc7", 4096), ("vgg16_fc7_pca", 512)):
            with h5py.File(folder / f"{split}_{suffix}.h5", "r") as f:
                if f["features"].ndim != 2 or f["features"].shape[1] != dim:
                    raise FetchError(f"{split}_{suffix}.h5: features must be (N, {dim}), got {f['features'].shape}")
    vocab = json.loads((folder / "coco2014_vocab.json").read_text())
    if not {"idx_to_word", "word_to_idx"} <= set(vocab):
        raise FetchError("coco2014_vocab.json must have idx_to_word and word_to_idx")


def _check_imagenet_val(root: Path) -> None:
    with zipfile.ZipFile(root / "imagenet_val_25.npz") as z:
        names = set(z.namelist())
    if not {"X.npy", "y.npy", "label_map.npy"} <= names:
        raise FetchError(f"imagenet_val_25.npz must hold X, y and label_map, has {sorted(names)}")


def _check_squeezenet(root: Path) -> None:
    """The ONNX-zoo weights must reproduce their reference output; needs PyTorch (else the loader checks it)."""
    if not (root / SQUEEZENET_ONNX_FOLDER).is_dir():
        return  # torchvision's .pth, verified by its checksum
    try:
        from helpers.data.squeezenet import SqueezeNetWeightsError, load_squeezenet
    except ImportError as error:  # run by a Python without PyTorch, before `make env`
        print(f"[squeezenet] {error.name} is not installed here: the reference input/output pair is checked "
              "when the weights are first loaded")
        return
    try:
        _, description = load_squeezenet("onnx-zoo", path=root / SQUEEZENET_ONNX_FOLDER)
    except SqueezeNetWeightsError as error:
        raise FetchError(f"[squeezenet] {error}") from error
    print(f"[squeezenet] {description}")


STRUCTURE_CHECKS = {"coco": _check_coco, "imagenet_val": _check_imagenet_val, "squeezenet": _check_squeezenet}


# ----------------------------------------------------------------------------- command line

def default_root() -> Path:
    env = os.environ.get("CS231N_DATASETS")
    return Path(env).expanduser() if env else Path(__file__).resolve().parents[2] / "datasets"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="setup_datasets.sh", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="*", metavar="DATASET",
                        help=f"any of {', '.join(DATASETS)} (default: all)")
    parser.add_argument("--from", dest="mirror", type=Path, help="copy from this local mirror instead of downloading")
    parser.add_argument("--dest", type=Path, default=None, help="install here (default: datasets/ or $CS231N_DATASETS)")
    parser.add_argument("--force", action="store_true", help="install again even if present")
    parser.add_argument("--list", action="store_true", help="list the datasets and whether they are installed")
    args = parser.parse_args(argv)
    root = (args.dest or default_root()).resolve()
    unknown = [n for n in args.datasets if n not in DATASETS]
    if unknown:
        parser.error(f"unknown dataset {', '.join(unknown)}; choose from {', '.join(DATASETS)}")
    if args.mirror is not None and not args.mirror.is_dir():
        parser.error(f"--from {args.mirror}: no such folder")
    installer = Installer(root, args.mirror.resolve() if args.mirror else None)
    if args.list:
        for spec in DATASETS.values():
            state = "installed" if installer.installed(spec) else "missing"
            print(f"{spec.name:13s} {state:10s} {spec.description}")
        return 0
    failures = []
    for name in args.datasets or list(DATASETS):
        try:
            installer.install(DATASETS[name], force=args.force)
        except (FetchError, OSError) as error:
            failures.append(name)
            print(f"[{name}] FAILED: {error}", file=sys.stderr)
    if failures:
        how = f"--from {args.mirror} " if args.mirror else ""
        print(f"\n{len(failures)} dataset(s) failed: {', '.join(failures)}. Nothing partial was left behind; "
              f"fix the cause above and rerun `./setup_datasets.sh {how}{' '.join(failures)}`.", file=sys.stderr)
        return 1
    print(f"All requested datasets are in {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
