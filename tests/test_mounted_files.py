"""The files an operator points us at (the config, the ``*_file`` secrets) are read only if regular and
small, without blocking, and refused with an error naming the key and the file, never the content."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from retrain_sentinel.errors import ConfigError
from retrain_sentinel.mounted_files import MAX_SECRET_FILE_BYTES, read_secret_file, read_text_file

SECRET = "s3cr3t-in-the-file"


def refusal(path: str | Path) -> tuple[str, str]:
    with pytest.raises(ConfigError) as caught:
        read_secret_file(path, "channels.hook.url_file")
    [problem] = caught.value.problems
    assert SECRET not in problem[1]
    return problem


def test_a_secret_file_is_read_stripped(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text(f"  {SECRET}\n")
    assert read_secret_file(path, "k") == SECRET


def test_a_symlinked_secret_is_read(tmp_path: Path) -> None:
    """Kubernetes mounts each secret key as a symlink into a timestamped directory."""
    (tmp_path / "..data").mkdir()
    (tmp_path / "..data" / "token").write_text(SECRET)
    (tmp_path / "token").symlink_to(tmp_path / "..data" / "token")
    assert read_secret_file(tmp_path / "token", "k") == SECRET


def test_a_device_is_refused_without_reading_it() -> None:
    assert refusal("/dev/zero") == ("channels.hook.url_file", "cannot read /dev/zero: not a regular file")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    found: list[tuple[str, str]] = []
    reader = threading.Thread(target=lambda: found.append(refusal(fifo)), daemon=True)

    reader.start()
    reader.join(10)

    assert found == [("channels.hook.url_file", f"cannot read {fifo}: not a regular file")]


def test_a_directory_a_missing_file_and_a_nul_in_the_path_are_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path) == ("channels.hook.url_file", f"cannot read {tmp_path}: Is a directory")
    assert refusal(tmp_path / "absent")[1] == f"cannot read {tmp_path / 'absent'}: No such file or directory"
    assert refusal("/run/secrets/a\x00b")[1].endswith(": not a valid path")


def test_a_secret_file_holds_at_most_64_kib(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("x" * MAX_SECRET_FILE_BYTES)
    assert len(read_secret_file(path, "k")) == MAX_SECRET_FILE_BYTES

    path.write_text(SECRET + "x" * MAX_SECRET_FILE_BYTES)
    assert refusal(path)[1] == f"cannot read {path}: larger than 64 KiB"


def test_an_empty_or_binary_secret_file_is_refused(tmp_path: Path) -> None:
    empty, binary = tmp_path / "empty", tmp_path / "binary"
    empty.write_text(" \n")
    binary.write_bytes(SECRET.encode() + b"\xff\xfe")

    assert refusal(empty)[1] == f"cannot read {empty}: the file is empty"
    assert refusal(binary)[1] == f"cannot read {binary}: not UTF-8 text"


def test_a_file_that_grew_past_its_size_is_cut_at_the_limit_plus_one(tmp_path: Path) -> None:
    """``/proc`` files report a size of 0: the read itself stops one byte past the limit."""
    with pytest.raises(ConfigError) as caught:
        read_text_file("/proc/self/maps", limit=16, where="k")
    assert caught.value.problems == [("k", "cannot read /proc/self/maps: larger than 16 bytes")]
