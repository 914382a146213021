"""setup_datasets.sh / helpers.data.fetch: good files install, bad ones never replace anything."""

import hashlib
import http.server
import shutil
import subprocess
import sys
import threading
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
    return [p for p in folder.rglob("*") if p.name.endswith(".part")]


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
    assert "rerun `./setup_datasets.sh --from" in result.stderr


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
    assert '"set/a.txt"' in (dest / "checksums.json").read_text()
    # a different copy later is rejected, and the first one stays
    _zip(www / "set.zip", {"top/set/a.txt": b"ALPHA", "top/set/b.txt": b"beta"})
    with pytest.raises(FetchError, match="differs from the one recorded"):
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
