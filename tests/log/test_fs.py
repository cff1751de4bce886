"""storage/fs.py: both filesystems behave the same, survive crashes as specified,
and inject the faults the log engine's tests rely on."""

from __future__ import annotations

import errno
import threading

import pytest

from streamtest.broker.storage.fs import HandleInvalidated, normalize


def test_append_and_read_back(fs):
    fs.makedirs("p")
    h = fs.open("p/f")
    assert h.append(b"hello") == 0
    assert h.append(memoryview(b"world")) == 5
    assert h.size == 10
    assert bytes(h.pread(3, 4)) == b"lowo"
    assert b"".join(bytes(v) for v in h.read_views(0, 100)) == b"helloworld"
    assert bytes(h.pread(10, 5)) == b""
    assert fs.file_size("p/f") == 10
    assert fs.read_bytes("p/f") == b"helloworld"


def test_readinto_fills_a_reused_buffer(fs):
    fs.makedirs("p")
    h = fs.open("p/f")
    for i in range(10):
        h.append(bytes([i]) * 7)
    buf = bytearray(20)
    assert h.readinto(5, buf) == 20
    assert bytes(buf) == fs.read_bytes("p/f")[5:25]
    assert h.readinto(65, buf) == 5
    assert bytes(buf[:5]) == b"\x09" * 5
    assert h.readinto(100, buf) == 0


def test_views_stay_valid_after_appends_truncation_and_deletion(fs):
    fs.makedirs("p")
    h = fs.open("p/f")
    h.append(b"a" * 100)
    h.append(b"b" * 100)
    views = h.read_views(50, 100)
    single = h.pread(120, 10)
    h.append(b"c" * 1000)  # no BufferError: chunks are immutable
    h.truncate(110)
    h.append(b"d" * 10)
    fs.remove("p/f")
    assert b"".join(bytes(v) for v in views) == b"a" * 50 + b"b" * 50
    assert bytes(single) == b"b" * 10


def test_open_without_create_and_missing_directory(fs):
    with pytest.raises(FileNotFoundError):
        fs.open("nope/f")
    fs.makedirs("p")
    with pytest.raises(FileNotFoundError):
        fs.open("p/f", create=False)


def test_namespace_operations(fs):
    fs.makedirs("a/b")
    fs.open("a/b/x").append(b"1")
    fs.open("a/y").append(b"22")
    assert fs.listdir("") == ["a"]
    assert fs.listdir("a") == ["b", "y"]
    assert fs.is_dir("a/b") and not fs.is_dir("a/y")
    fs.rename("a/y", "a/b/z")
    assert fs.listdir("a/b") == ["x", "z"] and not fs.exists("a/y")
    fs.open("a/w").append(b"333")
    fs.rename("a/w", "a/b/z")  # replaces atomically
    assert fs.read_bytes("a/b/z") == b"333"
    fs.rename("a/b", "a/c")
    assert fs.listdir("a/c") == ["x", "z"] and fs.read_bytes("a/c/x") == b"1"
    fs.remove("a/c/x")
    with pytest.raises(FileNotFoundError):
        fs.remove("a/c/x")
    fs.rmtree("a")
    assert fs.listdir("") == [] and not fs.exists("a/c/z")
    fs.rmtree("a")  # missing: no error


def test_write_atomic_replaces_whole_file(fs):
    fs.write_atomic("cp", b"one")
    fs.write_atomic("cp", b"two!")
    assert fs.read_bytes("cp") == b"two!"
    assert fs.listdir("") == ["cp"]  # no temporary file left behind


def test_rename_keeps_open_handles_usable(fs):
    fs.makedirs("p")
    h = fs.open("p/f")
    h.append(b"abc")
    fs.rename("p/f", "p/g")
    h.append(b"def")
    assert fs.read_bytes("p/g") == b"abcdef"


def test_crash_reverts_to_last_fsync_and_invalidates_handles(fs):
    fs.makedirs("p")
    h = fs.open("p/f")
    h.append(b"durable")
    h.fsync()
    h.append(b"-lost")
    g = fs.open("p/never-synced")
    g.append(b"gone")
    fs.write_atomic("p/cp", b"checkpoint")
    fs.crash()
    assert fs.read_bytes("p/f") == b"durable"
    assert fs.read_bytes("p/never-synced") == b""
    assert fs.read_bytes("p/cp") == b"checkpoint"
    with pytest.raises(HandleInvalidated):
        h.append(b"x")
    with pytest.raises(HandleInvalidated):
        h.pread(0, 1)
    again = fs.open("p/f")
    again.append(b"+new")
    assert fs.read_bytes("p/f") == b"durable+new"


def test_fsync_from_a_reader_handle_counts(fs):
    fs.makedirs("p")
    h = fs.open("p/f")
    h.append(b"abc")
    r = h.reader()
    r.fsync()
    r.close()
    h.append(b"def")
    fs.crash()
    assert fs.read_bytes("p/f") == b"abc"


def test_reader_survives_close_and_delete_of_the_original(fs):
    fs.makedirs("p")
    h = fs.open("p/f")
    h.append(b"sealed data")
    r = h.reader()
    h.close()
    fs.remove("p/f")
    assert bytes(r.pread(0, 6)) == b"sealed"
    with pytest.raises(PermissionError):
        r.append(b"x")
    r.close()


def test_capacity_fails_with_enospc_and_rolls_back(fs):
    fs.makedirs("p")
    h = fs.open("p/f")
    h.append(b"x" * 100)
    fs.set_capacity(fs.used_bytes() + 50)
    with pytest.raises(OSError) as exc:
        h.append(b"y" * 80)
    assert exc.value.errno == errno.ENOSPC
    assert h.size == 100 and fs.file_size("p/f") == 100
    h.append(b"z" * 50)  # what fits is accepted
    with pytest.raises(OSError):
        fs.write_atomic("p/cp", b"1")
    h.truncate(0)  # space freed
    h.append(b"w" * 120)
    assert fs.read_bytes("p/f") == b"w" * 120
    fs.set_capacity(None)
    h.append(b"v" * 1000)


def test_fail_next_injects_errno_then_recovers(fs):
    fs.makedirs("p")
    h = fs.open("p/f")
    fs.fail_next(2, errno.EIO, ops=["append"])
    for _ in range(2):
        with pytest.raises(OSError) as exc:
            h.append(b"data")
        assert exc.value.errno == errno.EIO
    h.append(b"ok")
    assert fs.read_bytes("p/f") == b"ok"
    fs.fail_next(1, errno.EIO, ops=["fsync"])
    with pytest.raises(OSError):
        h.fsync()
    h.fsync()
    with pytest.raises(ValueError):
        fs.fail_next(1, ops=["bogus"])


def test_partial_write_is_taken_back(fs):
    fs.makedirs("p")
    h = fs.open("p/f")
    h.append(b"keep")
    fs.fail_next(1, errno.ENOSPC, ops=["append"], partial=True)
    with pytest.raises(OSError):
        h.append(b"0123456789")
    assert fs.read_bytes("p/f") == b"keep"
    h.append(b"!")
    assert fs.read_bytes("p/f") == b"keep!"


def test_sealed_file_reads_are_safe_from_another_thread(fs):
    fs.makedirs("p")
    sealed = fs.open("p/sealed")
    expected = b"".join(bytes([i % 251]) * 100 for i in range(300))
    for i in range(300):
        sealed.append(bytes([i % 251]) * 100)
    reader = sealed.reader()
    errors: list[BaseException] = []
    results: list[bool] = []

    def read_all() -> None:
        try:
            for _ in range(30):
                got = b"".join(bytes(v) for v in reader.read_views(0, len(expected)))
                results.append(got == expected)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=read_all)
    t.start()
    active = fs.open("p/active")
    for _ in range(5000):
        active.append(b"a" * 50)
    t.join()
    reader.close()
    assert not errors and results and all(results)


def test_paths_must_stay_under_the_root():
    with pytest.raises(ValueError):
        normalize("/etc/passwd")
    with pytest.raises(ValueError):
        normalize("a/../../b")
    assert normalize("a//b/./c/") == "a/b/c"
