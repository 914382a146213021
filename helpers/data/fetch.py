"""Fetch, verify and install every dataset and pretrained weight the course uses.

Run through `./setup_datasets.sh` (this file needs only the Python standard library, plus h5py for
the structural check of the COCO files when it is installed). What is fetched, from where, and the
checksums it must match are in `helpers.data.catalog`.

    ./setup_datasets.sh                      everything, downloaded from the canonical URLs
    ./setup_datasets.sh cifar10 mnist        only these
    ./setup_datasets.sh --from DIR cifar10   copy from a local mirror instead of downloading
    ./setup_datasets.sh --list               what there is, and what is installed (sizes checked)
    ./setup_datasets.sh --verify             recompute every installed file's checksum
    ./setup_datasets.sh --force cifar10      install again (repairs a damaged copy)

A dataset is installed whole or not at all: its files are fetched into a staging folder beside the
datasets, each is checked against its pinned checksum (or, where none is published, its structure is
checked and its sha256 is recorded, and a later copy that differs is refused), and only then moved
into place and listed in `installed.json` with its size and sha256. A failure, an interrupt or a
killed process leaves the previous copy as it was; leftovers of a killed run are swept by the next.
One dataset failing does not stop the others; the exit code says whether everything succeeded.
Relative paths (--from, --dest) are taken from the directory the command was typed in; a relative
CS231N_DATASETS is taken from the repository root, as the notebooks take it.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shlex
import shutil
import signal
import sys
import tarfile
import tempfile
import time
import urllib.request
import zipfile
import zlib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if __package__ in (None, ""):  # run as a script by setup_datasets.sh: make `helpers` importable
    sys.path.insert(0, str(REPO_ROOT))

from helpers.data.catalog import (  # noqa: E402
    DATASETS,
    SQUEEZENET_ONNX_FOLDER,
    ArchiveSpec,
    DatasetSpec,
    Digest,
    FileSpec,
)

CHUNK = 1 << 20
MANIFEST = "installed.json"
STAGING_PREFIX = ".staging-"
# What a broken archive or stream raises while it is read.
ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError, gzip.BadGzipFile, ValueError)


class FetchError(RuntimeError):
    """Something could not be fetched or verified; the message says what and how to retry."""


# ----------------------------------------------------------------------------- checksums

def file_digest(path: Path, kind: str) -> str:
    """The hex digest of a file: md5, sha256 (also for 'sha256-prefix'), or the md5 of a .gz's content."""
    algorithm = "md5" if kind in ("md5", "gunzip-md5") else "sha256"
    h = hashlib.new(algorithm)
    opener = gzip.open if kind == "gunzip-md5" else open
    try:
        with opener(path, "rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
    except (OSError, EOFError, zlib.error) as error:  # e.g. not gzip data, or a truncated gzip stream
        return f"unreadable ({error})"
    return h.hexdigest()


def matches(path: Path, digests: tuple[Digest, ...]) -> bool:
    for d in digests:
        actual = file_digest(path, d.kind)
        if actual.startswith(d.value) if d.kind == "sha256-prefix" else actual == d.value:
            return True
    return False


def _describe_digests(digests) -> str:
    return " or ".join(f"{d.kind} {d.value}" for d in digests)


# ----------------------------------------------------------------------------- files and temporaries

def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(root: Path) -> list[Path]:
    """Remove the staging folders left in `root` by runs that were killed (their process is gone)."""
    removed = []
    if not root.is_dir():
        return removed
    for staging in root.glob(f"{STAGING_PREFIX}*"):
        pid = staging.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            shutil.rmtree(staging, ignore_errors=True)
            removed.append(staging)
    return removed


def _write_json(path: Path, data: dict) -> None:
    """Write JSON atomically, with the permissions the umask gives a new file."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
        os.chmod(name, 0o666 & ~_umask())
        os.replace(name, path)
    finally:
        Path(name).unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class Manifest:
    """`installed.json` in the datasets folder: per dataset, the size and sha256 of each installed file."""

    def __init__(self, root: Path):
        self.path = root / MANIFEST
        try:
            self.data = json.loads(self.path.read_text()) if self.path.exists() else {}
        except ValueError:
            self.data = {}  # unreadable: every dataset is then verified again on its next install

    def files(self, dataset: str) -> dict:
        return self.data.get(dataset, {}).get("files", {})

    def recorded_sha256(self, dataset: str, rel: str) -> str | None:
        return self.files(dataset).get(rel, {}).get("sha256")

    def record(self, dataset: str, files: dict) -> None:
        self.data[dataset] = {"files": files, "installed": time.strftime("%Y-%m-%d %H:%M:%S")}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _write_json(self.path, self.data)


# ----------------------------------------------------------------------------- downloading

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
    """Download url to dest (a path in the staging folder), showing progress."""
    started = time.time()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or expected_size
            done = 0
            while chunk := response.read(CHUNK):
                out.write(chunk)
                done += len(chunk)
                _progress(dest.name, done, total, started)
        sys.stderr.write("\n")
    except OSError as error:
        raise FetchError(f"could not download {url}: {error}") from error
    if expected_size is not None and dest.stat().st_size != expected_size:
        raise FetchError(f"{url}: got {dest.stat().st_size} bytes, expected {expected_size} "
                         "(the download was cut short or the file changed)")


def _copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        shutil.copyfileobj(fin, fout, CHUNK)


def _extract_member(archive: Path, member: str, dest: Path) -> bool:
    """Copy the archive member whose path ends with `member` to dest; False when there is none."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                if info.filename == member or info.filename.endswith("/" + member):
                    with z.open(info) as data, open(dest, "wb") as out:
                        shutil.copyfileobj(data, out, CHUNK)  # a bad CRC raises BadZipFile here
                    return True
        return False
    with tarfile.open(archive) as t:
        for info in t.getmembers():
            if info.isfile() and (info.name == member or info.name.endswith("/" + member)):
                with t.extractfile(info) as data, open(dest, "wb") as out:
                    shutil.copyfileobj(data, out, CHUNK)
                return True
    return False


# ----------------------------------------------------------------------------- installing

def file_sets(spec: DatasetSpec) -> list[tuple[FileSpec, ...]]:
    """The sets of files that make the dataset: its files, and an alternative set if it has one
    (e.g. SqueezeNet as torchvision's .pth or as the ONNX zoo's per-tensor arrays)."""
    return [spec.files] + ([spec.alternative_files] if spec.alternative_files else [])


class Installer:
    """Installs datasets into `root`, downloading them or copying them from `mirror`."""

    def __init__(self, root: Path, mirror: Path | None = None, log=print):
        self.root = Path(root)
        self.mirror = Path(mirror) if mirror is not None else None
        self.log = log
        self.manifest = Manifest(self.root)

    # -- what is there
    def status(self, spec: DatasetSpec) -> str:
        """'installed', 'missing', 'unrecorded' (present, never verified by this installer) or
        'damaged: <why>' (a file is gone or its size changed since it was installed). A dataset with
        alternative files is judged on the set that was installed."""
        recorded = self.manifest.files(spec.name)
        sets = file_sets(spec)
        files = next((fs for fs in sets if recorded and {f.path for f in fs} == set(recorded)), None)
        if files is None:
            files = next((fs for fs in sets if any((self.root / f.path).is_file() for f in fs)), spec.files)
        present = [f for f in files if (self.root / f.path).is_file()]
        if not present:
            return "missing"
        if not recorded:
            return "unrecorded" if len(present) == len(files) else "damaged: files are missing"
        for f in files:
            path = self.root / f.path
            if not path.is_file():
                return f"damaged: {f.path} is missing"
            if f.path in recorded and path.stat().st_size != recorded[f.path]["size"]:
                return (f"damaged: {f.path} has {path.stat().st_size} bytes, {recorded[f.path]['size']} when it "
                        "was installed")
        return "installed"

    def installed(self, spec: DatasetSpec) -> bool:
        return self.status(spec) == "installed"

    def verify(self, spec: DatasetSpec) -> list[str]:
        """Recompute every installed file's checksum; the problems found (empty when all is well)."""
        problems = []
        recorded = set(self.manifest.files(spec.name))
        for f in next((fs for fs in file_sets(spec) if {f.path for f in fs} == recorded), spec.files):
            path = self.root / f.path
            if not path.is_file():
                problems.append(f"{f.path} is missing")
            elif f.digests and not matches(path, f.digests):
                problems.append(f"{f.path} does not match its pinned checksum")
            elif self.manifest.recorded_sha256(spec.name, f.path) not in (None, file_digest(path, "sha256")):
                problems.append(f"{f.path} changed since it was installed")
        return problems

    def install(self, spec: DatasetSpec, force: bool = False) -> None:
        state = self.status(spec)
        if state == "installed" and not force:
            self.log(f"[{spec.name}] already installed in {self.root} (sizes checked; --verify checks every "
                     "checksum, --force installs again)")
            return
        if state.startswith("damaged"):
            self.log(f"[{spec.name}] the installed copy is {state}: installing it again")
        self.log(f"[{spec.name}] {spec.description}")
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / f"{STAGING_PREFIX}{spec.name}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        try:
            fetch = self._from_mirror if self.mirror is not None else self._download
            files, trusted = fetch(spec, staging)
            for f in files:
                self._verify(spec, f, staging / f.path, trusted=f.path in trusted)
            if spec.structure_check:
                STRUCTURE_CHECKS[spec.structure_check](staging)
            self._commit(spec, files, staging)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self.log(f"[{spec.name}] installed and verified")

    def _verify(self, spec: DatasetSpec, f: FileSpec, candidate: Path, trusted: bool = False) -> None:
        """Check a fetched file; `trusted` when it came out of an archive whose own checksum matched."""
        origin = self.mirror / f.path if self.mirror is not None else (f.url or f.path)
        if not candidate.is_file():
            raise FetchError(f"{f.path} was not found in what was fetched")
        if f.size is not None and candidate.stat().st_size != f.size:
            raise FetchError(f"{origin}: {candidate.stat().st_size} bytes, expected {f.size}; not installed "
                             f"(the previous copy of {f.path}, if any, is kept)")
        if f.digests:
            if trusted:
                return
            if not matches(candidate, f.digests):
                raise FetchError(f"{origin}: checksum mismatch for {f.path} (expected "
                                 f"{_describe_digests(f.digests)}); not installed, the previous copy is kept")
            return
        recorded = self.manifest.recorded_sha256(spec.name, f.path)
        if recorded and (self.root / f.path).is_file() and file_digest(candidate, "sha256") != recorded:
            raise FetchError(f"{origin}: {f.path} differs from the copy installed before (sha256 {recorded}) and "
                             f"no checksum is published to tell which is right; not installed. If the upstream "
                             f"file really changed, delete {self.root / f.path} and run again.")

    def _commit(self, spec: DatasetSpec, file_set, staging: Path) -> None:
        """Move every verified file into place and record it (the files are only listed once all moved)."""
        files = {}
        for f in file_set:
            source, target = staging / f.path, self.root / f.path
            files[f.path] = {"size": source.stat().st_size, "sha256": file_digest(source, "sha256")}
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(source, 0o666 & ~_umask())
            os.replace(source, target)
        self.manifest.record(spec.name, files)

    # -- a local mirror: the installed layout, or the archive files
    def _from_mirror(self, spec: DatasetSpec, staging: Path) -> tuple[tuple[FileSpec, ...], set[str]]:
        """Copy the dataset's files into staging; returns the file set copied and the files that came
        from a verified archive."""
        for files in file_sets(spec):  # the primary files, else an alternative set the mirror holds
            if all((self.mirror / f.path).exists() for f in files):
                for f in files:
                    _copy(self.mirror / f.path, staging / f.path)
                return files, set()
        archives = [a for a in spec.archives if (self.mirror / a.name).is_file()]
        if not archives:
            names = ", ".join(str(self.mirror / f.path) for f in spec.files if not (self.mirror / f.path).exists())
            raise FetchError(f"the mirror {self.mirror} lacks {names}"
                             + (f" (and the archive {spec.archives[0].name})" if spec.archives else "")
                             + (f" (and the alternative {spec.alternative_files[0].path.split('/')[0]}/)"
                                if spec.alternative_files else ""))
        return spec.files, set().union(*(self._unpack(spec, a, self.mirror / a.name, staging) for a in archives))

    # -- the canonical URLs
    def _download(self, spec: DatasetSpec, staging: Path) -> tuple[tuple[FileSpec, ...], set[str]]:
        """Download the dataset's (primary) files into staging; returns them and the files that came from
        a verified archive."""
        trusted = set()
        for f in spec.files:
            if f.url:
                (staging / f.path).parent.mkdir(parents=True, exist_ok=True)
                download(f.url, staging / f.path, f.size)
        for archive in spec.archives:
            path = staging / archive.name
            download(archive.url, path, archive.size)
            trusted |= self._unpack(spec, archive, path, staging)
            path.unlink()
        return spec.files, trusted

    def _unpack(self, spec: DatasetSpec, archive: ArchiveSpec, path: Path, staging: Path) -> set[str]:
        """Extract the dataset's members from an archive; returns them if the archive's checksum is pinned."""
        if archive.size is not None and path.stat().st_size != archive.size:
            raise FetchError(f"{path}: {path.stat().st_size} bytes, expected {archive.size}")
        if archive.digests and not matches(path, archive.digests):
            raise FetchError(f"{path}: checksum mismatch (expected {_describe_digests(archive.digests)}); "
                             "nothing was installed")
        extracted = set()
        try:
            for f in spec.files:
                if f.member and not (staging / f.path).exists() and _extract_member(path, f.member, staging / f.path):
                    extracted.add(f.path)
        except ARCHIVE_ERRORS as error:
            raise FetchError(f"{path} is a damaged archive ({type(error).__name__}: {error}); nothing was "
                             "installed") from error
        missing = [f.path for f in spec.files if not (staging / f.path).exists()]
        if missing and archive is spec.archives[-1]:
            raise FetchError(f"{', '.join(missing)} not found in the archives")
        # Members of an archive whose own checksum is pinned need no checksum of their own.
        return extracted if archive.digests else set()


# ----------------------------------------------------------------------------- structure checks

def _check_coco(root: Path) -> None:
    try:
        import h5py
    except ImportError:
        print("[coco] h5py is not installed: skipping the check of the h5 structure (make env installs it)")
        return
    folder = root / "coco_captioning"
    try:
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
                        raise FetchError(f"{split}_{suffix}.h5: features must be (N, {dim}), got "
                                         f"{f['features'].shape}")
        vocab = json.loads((folder / "coco2014_vocab.json").read_text())
    except (OSError, KeyError, ValueError) as error:
        raise FetchError(f"the COCO captioning files are not in CS231n's format ({error})") from error
    if not isinstance(vocab, dict) or not {"idx_to_word", "word_to_idx"} <= set(vocab):
        raise FetchError("coco2014_vocab.json must have idx_to_word and word_to_idx")


def _check_imagenet_val(root: Path) -> None:
    try:
        with zipfile.ZipFile(root / "imagenet_val_25.npz") as z:
            names = set(z.namelist())
    except (OSError, zipfile.BadZipFile) as error:
        raise FetchError(f"imagenet_val_25.npz is not an npz archive ({error})") from error
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
    """The datasets folder: CS231N_DATASETS (a relative value is taken from the repository root, as the
    notebooks take it), else datasets/ in the repository."""
    env = os.environ.get("CS231N_DATASETS")
    if not env:
        return REPO_ROOT / "datasets"
    path = Path(env).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def _rerun_command(names, args, root: Path) -> str:
    words = ["./setup_datasets.sh"]
    if args.mirror is not None:
        words += ["--from", str(args.mirror)]
    if args.dest is not None:
        words += ["--dest", str(root)]
    return " ".join(shlex.quote(w) for w in words + list(names))


def _terminate(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="setup_datasets.sh", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="*", metavar="DATASET",
                        help=f"any of {', '.join(DATASETS)} (default: all)")
    parser.add_argument("--from", dest="mirror", type=Path, help="copy from this local mirror instead of downloading")
    parser.add_argument("--dest", type=Path, default=None, help="install here (default: datasets/ or $CS231N_DATASETS)")
    parser.add_argument("--force", action="store_true", help="install again even if present (repairs a damaged copy)")
    parser.add_argument("--list", action="store_true", help="list the datasets and whether they are installed")
    parser.add_argument("--verify", action="store_true", help="recompute the checksum of every installed file")
    args = parser.parse_args(argv)
    # Every path once, from the directory the command was typed in.
    if args.mirror is not None:
        args.mirror = args.mirror.expanduser().resolve()
    root = args.dest.expanduser().resolve() if args.dest is not None else default_root()
    unknown = [n for n in args.datasets if n not in DATASETS]
    if unknown:
        parser.error(f"unknown dataset {', '.join(unknown)}; choose from {', '.join(DATASETS)}")
    if args.mirror is not None and not args.mirror.is_dir():
        parser.error(f"--from {args.mirror}: no such folder")
    signal.signal(signal.SIGTERM, _terminate)
    for stale in sweep_stale(root):
        print(f"removed {stale}, left by an interrupted run")
    installer = Installer(root, args.mirror)
    names = args.datasets or list(DATASETS)
    if args.list:
        for spec in DATASETS.values():
            print(f"{spec.name:13s} {installer.status(spec):10s} {spec.description}")
        return 0
    if args.verify:
        bad = []
        for name in names:
            state = installer.status(DATASETS[name])
            problems = installer.verify(DATASETS[name]) if state != "missing" else []
            print(f"[{name}] " + ("not installed" if state == "missing" else "; ".join(problems) or "verified"))
            bad += [name] if problems else []
        if bad:
            print(f"\nRepair with `{_rerun_command(bad, args, root)} --force`", file=sys.stderr)
        return 1 if bad else 0
    failures = []
    for name in names:
        try:
            installer.install(DATASETS[name], force=args.force)
        except KeyboardInterrupt:
            print(f"\n[{name}] interrupted: nothing of it was installed (the previous copy, if any, is kept). "
                  f"Rerun `{_rerun_command(names[names.index(name):], args, root)}`", file=sys.stderr)
            return 130
        except (FetchError, OSError) as error:
            failures.append(name)
            print(f"[{name}] FAILED: {error}", file=sys.stderr)
    if failures:
        print(f"\n{len(failures)} of {len(names)} dataset(s) failed: {', '.join(failures)}. Nothing of them was "
              f"installed (previous copies are kept); fix the cause above and rerun "
              f"`{_rerun_command(failures, args, root)}`.", file=sys.stderr)
        return 1
    print(f"All requested datasets are in {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
