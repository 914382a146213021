"""setup_datasets.sh / helpers.data.fetch: good files install, bad ones never replace anything."""

import hashlib
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from functools import partial
from pathlib import Path

import pytest

from helpers.data.fetch import (
    ArchiveSpec,
    DatasetSpec,
    Digest,
    FetchError,
    FileSpec,
    Installer,
)

ROOT = Path(__file__).resolve().parent.parent
MIRROR = ROOT.parent / "shared" / "datasets"
needs_mirror = pytest.mark.skipif(not (MIRROR / "mnist").is_dir(), reason="no local dataset mirror beside the repo")


def run_script(*args):
    return subprocess.run([str(ROOT / "setup_datasets.sh"), *map(str, args)], capture_output=True, text=True)


def leftovers(folder: Path):
    """Temporary files or staging folders left behind."""
    return [p for p in folder.rglob("*") if p.name.endswith((".part", ".tmp")) or p.name.startswith(".staging-")]


@needs_mirror
def test_mirror_install_is_verified_and_idempotent(tmp_path):
    dest = tmp_path / "datasets"
    first = run_script("--from", MIRROR, "--dest", dest, "mnist")
    assert first.returncode == 0, first.stderr
    assert "installed and verified" in first.stdout
    assert sorted(p.name for p in (dest / "mnist").iterdir()) == sorted(p.name for p in (MIRROR / "mnist").iterdir())
    again = run_script("--from", MIRROR, "--dest", dest, "mnist")
    assert again.returncode == 0 and "already installed" in again.stdout


@needs_mirror
def test_corrupt_mirror_file_is_rejected_and_good_copy_kept(tmp_path):
    dest, bad_mirror = tmp_path / "datasets", tmp_path / "mirror"
    shutil.copytree(MIRROR / "mnist", bad_mirror / "mnist")
    assert run_script("--from", bad_mirror, "--dest", dest, "mnist").returncode == 0
    good = (dest / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes()
    victim = bad_mirror / "mnist" / "t10k-labels-idx1-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:-100])  # truncated
    result = run_script("--from", bad_mirror, "--dest", dest, "--force", "mnist")
    assert result.returncode == 1
    assert "checksum mismatch for mnist/t10k-labels-idx1-ubyte.gz" in result.stderr
    assert "previous copy is kept" in result.stderr
    assert (dest / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes() == good
    assert leftovers(dest) == []


def test_missing_mirror_file_is_named(tmp_path):
    (tmp_path / "mirror" / "mnist").mkdir(parents=True)
    result = run_script("--from", tmp_path / "mirror", "--dest", tmp_path / "d", "mnist")
    assert result.returncode == 1
    assert str(tmp_path / "mirror" / "mnist" / "train-images-idx3-ubyte.gz") in result.stderr
    assert f"rerun `./setup_datasets.sh --from {tmp_path / 'mirror'} --dest {tmp_path / 'd'} mnist`" in result.stderr


def test_unknown_dataset_and_missing_mirror_folder_are_usage_errors(tmp_path):
    assert "unknown dataset" in run_script("imagenet").stderr
    assert "no such folder" in run_script("--from", tmp_path / "nope", "mnist").stderr


# ---------------------------------------------------------------- downloads, on a loopback server

@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/www on 127.0.0.1; yields (folder, base_url)."""
    www = tmp_path / "www"
    www.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_download_verified_file(server, tmp_path):
    www, url = server
    (www / "w.bin").write_bytes(b"weights" * 1000)
    spec = DatasetSpec("w", "weights", files=(FileSpec("w.bin", url=url + "w.bin", size=7000,
                                                       digests=(Digest("sha256", sha256(b"weights" * 1000)),)),))
    Installer(tmp_path / "d", log=lambda *_: None).install(spec)
    assert (tmp_path / "d" / "w.bin").read_bytes() == b"weights" * 1000


def test_download_with_wrong_checksum_or_size_installs_nothing(server, tmp_path):
    www, url = server
    (www / "w.bin").write_bytes(b"tampered" * 10)
    dest = tmp_path / "d"
    wrong_digest = FileSpec("w.bin", url=url + "w.bin", digests=(Digest("sha256", "0" * 64),))
    with pytest.raises(FetchError, match="checksum mismatch for w.bin"):
        Installer(dest, log=lambda *_: None).install(DatasetSpec("w", "", files=(wrong_digest,)))
    truncated = FileSpec("w.bin", url=url + "w.bin", size=1000)
    with pytest.raises(FetchError, match="expected 1000"):
        Installer(dest, log=lambda *_: None).install(DatasetSpec("w", "", files=(truncated,)))
    assert not (dest / "w.bin").exists() and leftovers(dest) == []


def test_unreachable_url_is_reported(tmp_path):
    spec = DatasetSpec("w", "", files=(FileSpec("w.bin", url="http://127.0.0.1:9/w.bin"),))
    with pytest.raises(FetchError, match="could not download http://127.0.0.1:9/w.bin"):
        Installer(tmp_path, log=lambda *_: None).install(spec)


def _zip(path: Path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def test_archive_without_published_checksum_records_sha256_on_first_install(server, tmp_path):
    www, url = server
    _zip(www / "set.zip", {"top/set/a.txt": b"alpha", "top/set/b.txt": b"beta"})
    files = (FileSpec("set/a.txt", member="set/a.txt"), FileSpec("set/b.txt", member="set/b.txt"))
    spec = DatasetSpec("set", "", files=files, archives=(ArchiveSpec(url + "set.zip", "set.zip"),))
    dest = tmp_path / "d"
    Installer(dest, log=lambda *_: None).install(spec)
    assert (dest / "set" / "a.txt").read_bytes() == b"alpha"
    assert json.loads((dest / "installed.json").read_text())["set"]["files"]["set/a.txt"]["sha256"] == sha256(b"alpha")
    # a different copy later is rejected, and the first one stays
    _zip(www / "set.zip", {"top/set/a.txt": b"ALPHA", "top/set/b.txt": b"beta"})
    with pytest.raises(FetchError, match="differs from the copy installed before"):
        Installer(dest, log=lambda *_: None).install(spec, force=True)
    assert (dest / "set" / "a.txt").read_bytes() == b"alpha"


def test_gunzip_md5_accepts_a_recompressed_file(tmp_path):
    import gzip

    payload = b"idx" * 100
    (tmp_path / "m").mkdir()
    with gzip.open(tmp_path / "m" / "x.gz", "wb", compresslevel=1) as f:
        f.write(payload)
    digest = Digest("gunzip-md5", hashlib.md5(payload).hexdigest())
    spec = DatasetSpec("x", "", files=(FileSpec("m/x.gz", digests=(Digest("md5", "0" * 32), digest)),))
    Installer(tmp_path / "d", mirror=tmp_path, log=lambda *_: None).install(spec)
    assert (tmp_path / "d" / "m" / "x.gz").exists()


def test_script_runs_with_a_bare_python(tmp_path):
    """setup_datasets.sh must work before the course environment exists (standard library only)."""
    result = subprocess.run([sys.executable, "-S", str(ROOT / "helpers" / "data" / "fetch.py"), "--list",
                             "--dest", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0 and "cifar10" in result.stdout


# ---------------------------------------------------------------- reliability (issue 8, items 1-8)

def _npz(path: Path, **arrays):
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


IMAGENET_LIKE = DatasetSpec("imagenet_val", "", files=(FileSpec("imagenet_val_25.npz"),),
                            structure_check="imagenet_val")


def test_a_file_that_fails_its_structure_check_is_never_installed_nor_recorded(tmp_path):
    import numpy as np

    mirror, dest = tmp_path / "mirror", tmp_path / "d"
    _npz(mirror / "imagenet_val_25.npz", X=np.zeros(2))  # no y, no label_map
    with pytest.raises(FetchError, match="must hold X, y and label_map"):
        Installer(dest, mirror, log=lambda *_: None).install(IMAGENET_LIKE)
    assert not (dest / "imagenet_val_25.npz").exists() and not (dest / "installed.json").exists()
    _npz(mirror / "imagenet_val_25.npz", X=np.zeros(2), y=np.zeros(2), label_map=np.zeros(1))
    installer = Installer(dest, mirror, log=lambda *_: None)
    installer.install(IMAGENET_LIKE)  # the valid copy is accepted: no bad checksum was recorded
    assert installer.status(IMAGENET_LIKE) == "installed" and leftovers(dest) == []


def _styles_mirror(tmp_path: Path, good_mnist: bool) -> Path:
    """A mirror whose style archive has a bad CRC (and, optionally, MNIST's files)."""
    mirror = tmp_path / "mirror"
    archive = mirror / "spring1617_assignment3.zip"
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        z.writestr("assignment3/cs231n/styles/tubingen.jpg", b"x" * 5000)
    data = bytearray(archive.read_bytes())
    data[200] ^= 0xFF  # one flipped byte inside the stored member: its CRC no longer matches
    archive.write_bytes(bytes(data))
    if good_mnist:
        shutil.copytree(MIRROR / "mnist", mirror / "mnist")
    return mirror


@needs_mirror
def test_one_bad_archive_fails_its_dataset_alone(tmp_path):
    mirror, dest = _styles_mirror(tmp_path, good_mnist=True), tmp_path / "d"
    result = run_script("--from", mirror, "--dest", dest, "styles", "mnist")
    assert result.returncode == 1
    assert "[styles] FAILED:" in result.stderr and "damaged archive (BadZipFile" in result.stderr
    assert "Traceback" not in result.stderr
    assert "[mnist] installed and verified" in result.stdout
    assert not (dest / "cs231n_style_images").exists() and leftovers(dest) == []


@needs_mirror
def test_a_dataset_is_installed_whole_or_not_at_all(tmp_path):
    mirror, dest = tmp_path / "mirror", tmp_path / "d"
    shutil.copytree(MIRROR / "mnist", mirror / "mnist")
    victim = mirror / "mnist" / "t10k-labels-idx1-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:-100])
    result = run_script("--from", mirror, "--dest", dest, "mnist")
    assert result.returncode == 1 and "Nothing of them was installed" in result.stderr
    assert not (dest / "mnist").exists() or not any((dest / "mnist").iterdir())


def test_the_rerun_command_is_quoted_and_keeps_the_destination(tmp_path):
    mirror, dest = tmp_path / "my mirror", tmp_path / "data sets"
    (mirror / "mnist").mkdir(parents=True)
    result = run_script("--from", mirror, "--dest", dest, "mnist")
    assert f"rerun `./setup_datasets.sh --from '{mirror}' --dest '{dest}' mnist`" in result.stderr


def test_an_interrupted_copy_leaves_nothing_and_says_how_to_resume(tmp_path):
    mirror, dest = tmp_path / "mirror", tmp_path / "d"
    (mirror / "mnist").mkdir(parents=True)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz"):
        os.mkfifo(mirror / "mnist" / name)  # reading blocks: the copy hangs until it is interrupted
    # A test run started in the background inherits an ignored SIGINT; the user's terminal does not ignore it.
    process = subprocess.Popen([str(ROOT / "setup_datasets.sh"), "--from", str(mirror), "--dest", str(dest), "mnist"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 30
    while not list(dest.glob(".staging-mnist-*")) and time.time() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "[mnist] interrupted: nothing of it was installed" in err and "Traceback" not in err
    assert leftovers(dest) == []


def test_a_killed_run_is_swept_by_the_next(tmp_path):
    dest = tmp_path / "d"
    stale = dest / ".staging-mnist-999999999"
    (stale / "mnist").mkdir(parents=True)
    (stale / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"half")
    result = run_script("--dest", dest, "--list")
    assert result.returncode == 0 and f"removed {stale}" in result.stdout and not stale.exists()


@needs_mirror
def test_a_damaged_installed_file_is_seen_and_repaired(tmp_path):
    dest = tmp_path / "d"
    assert run_script("--from", MIRROR, "--dest", dest, "mnist").returncode == 0
    victim = dest / "mnist" / "train-labels-idx1-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:1000])
    listed = run_script("--dest", dest, "--list").stdout
    assert "mnist         damaged: mnist/train-labels-idx1-ubyte.gz has 1000 bytes" in listed
    repaired = run_script("--from", MIRROR, "--dest", dest, "mnist")
    assert repaired.returncode == 0 and "installing it again" in repaired.stdout
    assert victim.read_bytes() == (MIRROR / "mnist" / "train-labels-idx1-ubyte.gz").read_bytes()
    # a change that keeps the size is found by --verify, which names the repairing command
    data = bytearray(victim.read_bytes())
    data[100] ^= 1
    victim.write_bytes(bytes(data))
    verified = run_script("--dest", dest, "--verify", "mnist")
    assert verified.returncode == 1 and "does not match its pinned checksum" in verified.stdout
    assert "--force" in verified.stderr


@needs_mirror
def test_relative_paths_are_taken_from_where_the_command_is_typed(tmp_path):
    work = tmp_path / "work"
    shutil.copytree(MIRROR / "mnist", work / "mirror" / "mnist")
    result = subprocess.run([str(ROOT / "setup_datasets.sh"), "--from", "mirror", "--dest", "data", "mnist"],
                            capture_output=True, text=True, cwd=work)
    assert result.returncode == 0, result.stderr
    assert (work / "data" / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()


def test_a_relative_datasets_variable_means_the_same_folder_to_installer_and_notebooks(monkeypatch):
    from helpers.data import fetch
    from helpers.data.paths import datasets_dir

    monkeypatch.setenv("CS231N_DATASETS", "my-data")
    monkeypatch.chdir(ROOT / "assignment1")  # where a notebook's kernel runs
    assert datasets_dir() == fetch.default_root() == ROOT / "my-data"


@needs_mirror
def test_installed_files_follow_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        dest = tmp_path / "d"
        Installer(dest, MIRROR, log=lambda *_: None).install(fetch_spec("mnist"))
    finally:
        os.umask(previous)
    modes = {oct(p.stat().st_mode & 0o777) for p in (dest / "mnist").iterdir()} | {
        oct((dest / "installed.json").stat().st_mode & 0o777)}
    assert modes == {"0o644"}


def fetch_spec(name):
    from helpers.data.catalog import DATASETS

    return DATASETS[name]
