"""Files and standard output for commands that write data: atomic writes,
UTF-8 standard output, and a reader of a pipe that went away."""

from __future__ import annotations

import io
import os
import stat
import sys
import tempfile
from contextlib import contextmanager

from .errors import BatchError


@contextmanager
def atomic_output(path: str):
    """A UTF-8 text file that replaces ``path`` only when the block succeeds.

    It is written beside the target (same file system) and moved over it with
    os.replace; on any failure, Ctrl-C and SIGTERM included, the partial file
    is removed and the previous ``path`` is untouched. A symbolic link is
    followed (the file it names is replaced, the link stays); a device, a
    named pipe or a socket (/dev/null, /dev/stdout) is written as it is, since
    there is no file to replace.
    """
    try:
        info = os.stat(path)
    except OSError:
        info = None
    if info is not None and not stat.S_ISREG(info.st_mode) and not stat.S_ISDIR(info.st_mode):
        with _opened(path) as fh:
            yield fh
        return
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    if os.path.isdir(target):
        raise BatchError(f"cannot write {path}: it is a folder")
    if not os.path.isdir(folder):
        raise BatchError(f"cannot write {path}: the folder {folder} does not exist")
    if info is not None:
        mode = info.st_mode & 0o7777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise BatchError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with open(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


@contextmanager
def _opened(path: str):
    """A special file (a device, a pipe) opened for writing as UTF-8 text."""
    try:
        fh = open(path, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise BatchError(f"cannot write {path}: {exc.strerror or exc}") from None
    with fh:
        yield fh


@contextmanager
def stdout_text():
    """Standard output as UTF-8 text with untranslated line ends (what the csv module needs)."""
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        yield sys.stdout
        return
    out = io.TextIOWrapper(buffer, encoding="utf-8", newline="")
    try:
        try:
            yield out
        finally:
            out.flush()
    except OSError:  # a closed pipe or a full disk: what is left goes nowhere, and the caller says why
        silence_stdout()
        raise
    finally:
        out.detach()


def silence_stdout() -> None:
    """After the reader of a pipe went away: send what is left to /dev/null, quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def stream_is_file(stream, path: str) -> bool:
    """Is the open stream (standard input, say) the file at ``path``? False when either cannot be looked at."""
    try:
        a, b = os.fstat(stream.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError):
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
