"""kit.data: the loader on the real files, the resolution order, the caches, the download,
and every corruption case (built from small synthetic IDX files) as one sentence naming the file."""

from __future__ import annotations

import functools
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

import kit.data
from kit.cli import main
from kit.data import CLASS_NAMES, FILES, DatasetError, load_fashion_mnist

REPO = Path(__file__).resolve().parent.parent
STANDARD_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
FIXES = ("make data", "--download", "apt-get", "chmod", "git checkout")


# --------------------------------------------------------------------------- helpers


def idx_bytes(array, magic: int | None = None) -> bytes:
    """An IDX payload: magic (0x08 = unsigned byte, then the number of dimensions), sizes, data."""
    array = np.asarray(array, dtype=np.uint8)
    magic = 0x0800 + array.ndim if magic is None else magic
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape) + array.tobytes()


def write_gz(path: Path, payload: bytes) -> Path:
    path.write_bytes(gzip.compress(payload, compresslevel=1))
    return path


def synthetic_dir(folder: Path, n_train: int = 6, n_test: int = 4) -> Path:
    """Four structurally valid but tiny IDX files (so only counts and checksums are wrong)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        write_gz(folder / FILES[f"{split}_images"], idx_bytes(rng.integers(0, 256, (n, 28, 28))))
        write_gz(folder / FILES[f"{split}_labels"], idx_bytes(np.arange(n) % 10))
    return folder


def assert_one_sentence(message: str, path: Path) -> None:
    assert str(path) in message, message
    assert "\n" not in message and "Traceback" not in message, message
    assert message.endswith("."), message
    assert any(fix in message for fix in FIXES), f"no fix named in: {message}"


def run_kit(*args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "kit", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, **kwargs
    )


@pytest.fixture(autouse=True)
def _no_environment_override(monkeypatch):
    monkeypatch.delenv("KIT_DATA_DIR", raising=False)
    monkeypatch.delenv("KIT_DATA_URL", raising=False)


@pytest.fixture(scope="module")
def real_dir() -> Path:
    """Where this machine keeps the real files (Debian package, datasets/ or Keras cache)."""
    saved = os.environ.pop("KIT_DATA_DIR", None)
    try:
        return kit.data.find_data_dir()[1]
    finally:
        if saved is not None:
            os.environ["KIT_DATA_DIR"] = saved


@pytest.fixture(scope="module")
def real_copy(tmp_path_factory, real_dir) -> Path:
    """A private copy of the real files (for checksum and download tests)."""
    folder = tmp_path_factory.mktemp("real")
    for name in FILES.values():
        shutil.copyfile(real_dir / name, folder / name)
    return folder


def link_files(source: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in FILES.values():
        (folder / name).symlink_to(source / name)
    return folder


# --------------------------------------------------------------------------- the real dataset


def test_shapes_dtypes_and_ranges(fashion_mnist, real_dir):
    d = fashion_mnist
    assert d.x_train.shape == (55000, 28, 28, 1) and d.x_val.shape == (5000, 28, 28, 1)
    assert d.x_test.shape == (10000, 28, 28, 1)
    for x in (d.x_train, d.x_val, d.x_test):
        assert x.dtype == np.float32 and x.min() == 0.0 and x.max() == 1.0
    for y in (d.y_train, d.y_val, d.y_test):
        assert y.dtype == np.int64 and y.min() == 0 and y.max() == 9
    assert d.num_classes == 10 and d.input_shape == (28, 28, 1)
    assert d.source.endswith(f": {real_dir}")
    assert d.source.split(":")[0] in {name for name, _ in kit.data.candidate_dirs()}


def test_known_facts_of_the_raw_files(raw_fashion_mnist):
    d = raw_fashion_mnist
    assert CLASS_NAMES == STANDARD_NAMES and d.class_names == STANDARD_NAMES
    assert d.y_train[0] == 9 and d.class_names[d.y_train[0]] == "Ankle boot"
    assert d.x_train.shape == (60000, 28, 28, 1) and d.x_train.dtype == np.uint8 and d.x_train.max() == 255
    assert np.bincount(d.y_train).tolist() == [6000] * 10
    assert np.bincount(d.y_test).tolist() == [1000] * 10
    assert d.x_val.shape == (0, 28, 28, 1) and d.y_val.shape == (0,)
    assert d.x_train.flags.writeable, "callers get their own arrays, never the cached ones"


def test_normalised_is_raw_over_255(fashion_mnist, raw_fashion_mnist):
    np.testing.assert_array_equal(fashion_mnist.x_test, raw_fashion_mnist.x_test / np.float32(255))


@pytest.mark.slow
def test_validation_split_is_stratified_and_carved_from_train_only(fashion_mnist, raw_fashion_mnist):
    d = fashion_mnist
    assert np.bincount(d.y_val).tolist() == [500] * 10 and np.bincount(d.y_train).tolist() == [5500] * 10

    def rows(x):
        return {row.tobytes() for row in np.rint(np.asarray(x) * 255).astype(np.uint8).reshape(len(x), -1)}

    train, val, test = rows(d.x_train), rows(d.x_val), rows(d.x_test)
    raw_train = {row.tobytes() for row in raw_fashion_mnist.x_train.reshape(60000, -1)}
    assert not val & train and not val & test and not train & test
    assert train | val == raw_train  # the 60,000 training images, nothing from the test file
    np.testing.assert_array_equal(d.y_test, raw_fashion_mnist.y_test)


def test_seed_determinism_and_sizes():
    a = load_fashion_mnist(validation_size=1000, seed=1, normalize=False)
    b = load_fashion_mnist(validation_size=1000, seed=1, normalize=False)
    c = load_fashion_mnist(validation_size=1000, seed=2, normalize=False)
    np.testing.assert_array_equal(a.x_val, b.x_val)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.x_val, c.x_val)
    assert len(a.y_val) == 1000 and len(a.y_train) == 59000 and np.bincount(a.y_val).tolist() == [100] * 10


@pytest.mark.parametrize("bad", [-1, 5, 59995, 1.5, "5000", True])
def test_bad_validation_size_is_a_clear_value_error(bad):
    with pytest.raises(ValueError, match="validation_size"):
        load_fashion_mnist(validation_size=bad)


def test_subset_is_stratified_and_exact(fashion_mnist, small_fashion_mnist):
    s = small_fashion_mnist
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (2000, 500, 1000)
    assert np.bincount(s.y_train).tolist() == [200] * 10 and np.bincount(s.y_test).tolist() == [100] * 10
    assert s.subset(7).y_train.shape == (7,)  # fewer than the classes: a plain random pick
    assert fashion_mnist.subset(100, seed=3).y_train.tolist() == fashion_mnist.subset(100, seed=3).y_train.tolist()


# --------------------------------------------------------------------------- resolution order


def test_explicit_folder_wins_and_is_never_skipped(monkeypatch, tmp_path, real_dir):
    monkeypatch.setenv("KIT_DATA_DIR", str(real_dir))
    assert load_fashion_mnist(validation_size=0).source == f"$KIT_DATA_DIR: {real_dir}"
    assert load_fashion_mnist(real_dir, validation_size=0).source == f"data_dir argument: {real_dir}"
    monkeypatch.setenv("KIT_DATA_DIR", str(tmp_path / "absent"))
    with pytest.raises(DatasetError, match="does not exist") as error:
        load_fashion_mnist()  # a good copy exists, but the user asked for another folder
    assert "$KIT_DATA_DIR" in str(error.value)


def test_keras_cache_is_the_last_place_looked_and_then_a_clear_error(monkeypatch, tmp_path, real_dir):
    repo, keras_cache = tmp_path / "repo", tmp_path / "keras" / "datasets" / "fashion-mnist"
    monkeypatch.setattr(kit.data, "DATASET_DIR", repo)
    monkeypatch.setattr(kit.data, "DEBIAN_DIR", tmp_path / "debian")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(DatasetError) as error:
        load_fashion_mnist()
    message = str(error.value)
    assert "not found" in message and "make data" in message and str(keras_cache) in message
    assert "apt-get install dataset-fashion-mnist" in message and "\n" not in message
    repo.mkdir()  # an interrupted copy: the error names the file missing there
    shutil.copyfile(real_dir / FILES["train_labels"], repo / FILES["train_labels"])
    with pytest.raises(DatasetError, match="is missing") as error:
        load_fashion_mnist()
    assert_one_sentence(str(error.value), repo / FILES["train_images"])
    link_files(real_dir, keras_cache)  # a complete copy later in the order is preferred to a partial one
    assert load_fashion_mnist(validation_size=0).source == f"Keras cache: {keras_cache}"


# --------------------------------------------------------------------------- caches


@pytest.mark.slow
def test_repeated_loads_do_not_read_the_files_again(monkeypatch, raw_fashion_mnist):
    def fail(folder):
        raise AssertionError(f"{folder} read again")

    load_fashion_mnist(validation_size=0)
    monkeypatch.setattr(kit.data, "_read_folder", fail)
    again = load_fashion_mnist(validation_size=0, normalize=False)
    np.testing.assert_array_equal(again.x_train, raw_fashion_mnist.x_train)


@pytest.mark.slow
def test_npz_cache_is_used_and_a_broken_one_ignored(monkeypatch, tmp_path, raw_fashion_mnist, real_dir):
    monkeypatch.setattr(kit.data, "DATASET_DIR", tmp_path / "repo")  # where the .npz goes
    monkeypatch.setattr(kit.data, "DEBIAN_DIR", tmp_path / "debian")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    link_files(real_dir, tmp_path / "keras" / "datasets" / "fashion-mnist")
    (tmp_path / "repo").mkdir()
    monkeypatch.setattr(kit.data, "_MEMORY_CACHE", {})
    assert load_fashion_mnist(validation_size=0).source.startswith("Keras cache")  # reads, writes the cache
    (npz,) = (tmp_path / "repo").glob("cache-*.npz")
    real_read = kit.data._read_folder
    monkeypatch.setattr(kit.data, "_read_folder", lambda folder: pytest.fail("the .npz cache was not used"))
    monkeypatch.setattr(kit.data, "_MEMORY_CACHE", {})
    np.testing.assert_array_equal(
        load_fashion_mnist(validation_size=0, normalize=False).x_test, raw_fashion_mnist.x_test
    )
    npz.write_bytes(b"not an npz file")
    monkeypatch.setattr(kit.data, "_read_folder", real_read)
    monkeypatch.setattr(kit.data, "_MEMORY_CACHE", {})
    np.testing.assert_array_equal(
        load_fashion_mnist(validation_size=0, normalize=False).y_train, raw_fashion_mnist.y_train
    )


# --------------------------------------------------------------------------- corruption, one sentence each


def _missing_file(folder):
    (folder / FILES["test_labels"]).unlink()
    return folder / FILES["test_labels"], "is missing"


def _empty_file(folder):
    (folder / FILES["train_labels"]).write_bytes(b"")
    return folder / FILES["train_labels"], "is empty"


def _truncated_gzip(folder):
    path = folder / FILES["test_images"]
    path.write_bytes(path.read_bytes()[:1500])
    return path, "truncated gzip"


def _corrupt_gzip_crc(folder):
    path = folder / FILES["train_images"]
    raw = bytearray(path.read_bytes())
    raw[-8] ^= 0xFF  # the CRC-32 in the gzip trailer
    path.write_bytes(bytes(raw))
    return path, "corrupt gzip"


def _not_gzip(folder):
    path = folder / FILES["train_images"]
    path.write_bytes(idx_bytes(np.zeros((6, 28, 28))))
    return path, "not a gzip file"


def _wrong_magic(folder):
    path = folder / FILES["test_images"]
    write_gz(path, idx_bytes(np.zeros((4, 28, 28)), magic=2049))
    return path, "magic number 2049"


def _wrong_dimensions(folder):
    path = folder / FILES["train_images"]
    write_gz(path, idx_bytes(np.zeros((6, 27, 28))))
    return path, "27x28"


def _short_payload(folder):
    path = folder / FILES["test_images"]
    write_gz(path, idx_bytes(np.zeros((4, 28, 28)))[:-100])
    return path, "promises"


def _label_out_of_range(folder):
    path = folder / FILES["test_labels"]
    write_gz(path, idx_bytes([0, 1, 2, 10]))
    return path, "0-9"


def _count_mismatch(folder):
    path = folder / FILES["train_labels"]
    write_gz(path, idx_bytes(np.arange(5)))
    return path, "cannot belong together"


def _wrong_count(folder):
    return folder / FILES["train_images"], "expected 60000"


def _folder_in_place_of_file(folder):
    path = folder / FILES["test_labels"]
    path.unlink()
    path.mkdir()
    return path, "is a folder"


CASES = [
    _missing_file,
    _empty_file,
    _truncated_gzip,
    _corrupt_gzip_crc,
    _not_gzip,
    _wrong_magic,
    _wrong_dimensions,
    _short_payload,
    _label_out_of_range,
    _count_mismatch,
    _wrong_count,
    _folder_in_place_of_file,
]


@pytest.mark.parametrize("corrupt", CASES, ids=lambda f: f.__name__.strip("_"))
def test_corrupt_files_give_one_sentence_naming_the_file(corrupt, tmp_path, capsys):
    folder = synthetic_dir(tmp_path / "fashion")
    path, words = corrupt(folder)
    with pytest.raises(DatasetError) as error:
        load_fashion_mnist(folder)
    assert words in str(error.value)
    assert_one_sentence(str(error.value), path)
    assert main(["data", "--check", "--data-dir", str(folder)]) == 2  # the CLI: exit 2, one line
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("error: ") and str(path) in err


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="does not exist") as error:
        load_fashion_mnist(tmp_path / "nowhere")
    assert_one_sentence(str(error.value), tmp_path / "nowhere")


@pytest.mark.slow
def test_one_flipped_byte_fails_the_checksum_and_the_cache_notices(real_copy, tmp_path):
    folder = link_files(real_copy, tmp_path / "copy")
    assert load_fashion_mnist(folder, validation_size=0).source == f"data_dir argument: {folder}"
    path = folder / FILES["test_images"]
    payload = bytearray(gzip.decompress(path.read_bytes()))
    payload[16 + 28 * 14 + 14] ^= 0x01  # one pixel in the middle of the first test image
    path.unlink()
    write_gz(path, bytes(payload))
    with pytest.raises(DatasetError, match="does not match its checksum") as error:
        load_fashion_mnist(folder)
    assert_one_sentence(str(error.value), path)


def test_differently_compressed_copy_passes(real_copy, tmp_path):
    folder = tmp_path / "recompressed"
    folder.mkdir()
    for name in FILES.values():
        if name == FILES["test_labels"]:
            write_gz(folder / name, gzip.decompress((real_copy / name).read_bytes()))  # other gzip level
        else:
            (folder / name).symlink_to(real_copy / name)
    assert (folder / FILES["test_labels"]).read_bytes() != (real_copy / FILES["test_labels"]).read_bytes()
    assert kit.data.verify(folder) == ("data_dir argument", folder)


def _check_as_nobody(folder: Path) -> tuple[int, str]:
    """`python -m kit data --check` run in a forked child that has dropped root to user nobody.

    Forked, not exec'd: the venv's interpreter (and the checkout, with SHA256SUMS) may live under
    root's private home, so the child reads the manifest before it drops its rights.
    """
    sums = kit.data.read_manifest()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 99
        try:
            os.close(read_end)
            sys.stderr = os.fdopen(write_end, "w")
            kit.data.read_manifest = lambda *args, **kwargs: sums
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            code = main(["data", "--check", "--data-dir", str(folder)])
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            print(f"child failed: {error!r}", file=sys.stderr)
        finally:
            sys.stderr.flush()
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        err = pipe.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), err


def test_unreadable_file_without_permission(tmp_path):
    """A file its user may not read. Root reads anything, so as root the check runs as `nobody`."""
    base = Path(tempfile.mkdtemp(prefix="kit-perm-"))  # pytest's tmp_path is private to root
    try:
        os.chmod(base, 0o755)
        folder = synthetic_dir(base / "fashion")
        path = folder / FILES["train_images"]
        os.chmod(path, 0o000)
        if os.geteuid() != 0:
            with pytest.raises(DatasetError, match="cannot read") as error:
                load_fashion_mnist(folder)
            assert_one_sentence(str(error.value), path)
            return
        code, err = _check_as_nobody(folder)
        if code == 99 and "child failed" in err:
            pytest.skip(f"running as root and cannot become user nobody ({err.strip()}); root ignores file modes")
        assert code == 2, err
        assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("error: cannot read ")
        assert str(path) in err and "Permission denied" in err and f"chmod a+r {path}" in err
    finally:
        shutil.rmtree(base)


@pytest.mark.slow
def test_cli_in_a_real_process_exit_2_without_traceback(tmp_path):
    folder = synthetic_dir(tmp_path / "fashion")
    _not_gzip(folder)
    for args in (
        ["data", "--data-dir", str(folder)],
        ["data", "--check", "--data-dir", str(tmp_path / "none")],
        ["explore", "--out", str(tmp_path / "out"), "--data-dir", str(folder)],
    ):
        result = run_kit(*args)
        assert result.returncode == 2, result
        assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1 and result.stdout == ""
        assert result.stderr.startswith("error: ") and str(args[-1]) in result.stderr


@pytest.mark.slow
def test_cli_describes_the_data_and_check_is_quiet(capsys, real_dir):
    assert main(["data", "--validation-size", "0"]) == 0
    out = capsys.readouterr().out
    assert "Fashion-MNIST from " in out and f": {real_dir}\n" in out and "(60000, 28, 28, 1)" in out
    assert "Ankle boot" in out and out.count("6000 ") >= 10 and "1000" in out
    assert main(["data", "--check"]) == 0
    assert capsys.readouterr() == ("", "")


# --------------------------------------------------------------------------- download (localhost only)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """Serve a folder over HTTP on 127.0.0.1 (tests never reach the internet)."""
    servers = []

    def start(directory: Path) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(directory)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_download_from_a_mirror_then_only_what_is_missing(
    serve, real_copy, tmp_path, monkeypatch, capsys, raw_fashion_mnist
):
    url = serve(real_copy)
    monkeypatch.setenv("KIT_DATA_URL", url)
    target = tmp_path / "downloaded"
    assert main(["data", "--download", "--check", "--data-dir", str(target)]) == 0
    assert f"Fashion-MNIST not found; downloading it into {target}" in capsys.readouterr().out
    assert sorted(p.name for p in target.iterdir()) == sorted(FILES.values())  # no .part files left
    np.testing.assert_array_equal(
        load_fashion_mnist(target, validation_size=0, normalize=False).x_test, raw_fashion_mnist.x_test
    )

    partial = tmp_path / "partial"
    partial.mkdir()
    kept = {}
    for key in ("train_images", "train_labels", "test_images"):
        shutil.copy2(target / FILES[key], partial / FILES[key])
        kept[key] = (partial / FILES[key]).stat().st_mtime_ns
    data = load_fashion_mnist(partial, download=True, validation_size=0)
    assert data.source == f"downloaded from {url}: {partial}"
    assert all((partial / FILES[key]).stat().st_mtime_ns == t for key, t in kept.items())


def test_download_refuses_a_file_with_the_wrong_checksum(serve, tmp_path):
    mirror = synthetic_dir(tmp_path / "mirror")
    url = serve(mirror)
    target = tmp_path / "target"
    with pytest.raises(DatasetError) as error:
        kit.data.download_fashion_mnist(target, base_url=url)
    message = str(error.value)
    assert "does not match SHA256SUMS" in message and FILES["train_images"] in message and "apt-get" in message
    assert list(target.iterdir()) == []


def test_download_reports_an_unreachable_file(serve, tmp_path):
    url = serve(tmp_path)  # an empty folder: 404 for every file
    with pytest.raises(DatasetError, match="404") as error:
        kit.data.download_fashion_mnist(tmp_path / "target", base_url=url)
    assert url + FILES["train_images"] in str(error.value)
