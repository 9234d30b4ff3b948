"""Files and standard output for commands that write data: atomic writes,
UTF-8 standard output, and a reader of a pipe that went away."""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import sys
import tempfile
from contextlib import contextmanager

from .errors import WriteError


@contextmanager
def atomic_output(path: str):
    """A UTF-8 text file that replaces ``path`` only when the block succeeds.

    It is written beside the target (same file system) and moved over it with
    os.replace; on any failure (Ctrl-C included, and SIGTERM through the
    command line) the partial file is removed and the previous ``path`` is
    untouched. A symbolic link is followed (the file it names is replaced, the
    link stays). What is not a plain file is written as it is: a device or a
    named pipe (/dev/null), and this process's own standard output or error
    (/dev/stdout, /dev/fd/1), whatever they are redirected to, without
    truncating it (``>> log`` keeps the log).
    """
    if not path:
        raise WriteError("cannot write the output: the file name is empty")
    stream = own_stream(path)
    if stream is not None:
        with _opened(path, stream) as fh:
            yield fh
        return
    try:
        info = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise WriteError(f"cannot write {path}: its symbolic links loop") from None
        info = None
    if info is not None and not stat.S_ISREG(info.st_mode) and not stat.S_ISDIR(info.st_mode):
        with _opened(path) as fh:
            yield fh
        return
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    if os.path.isdir(target):
        raise WriteError(f"cannot write {path}: it is a folder")
    if not os.path.isdir(folder):
        via = f" (the symbolic link {path} points into it)" if os.path.islink(path) else ""
        what = f"{folder} is a file, not a folder" if os.path.exists(folder) else f"the folder {folder} does not exist"
        raise WriteError(f"cannot write {path}: {what}{via}")
    if info is not None and not os.access(target, os.W_OK):
        # replacing needs only the folder's permission; writing over the file in place needs the file's
        raise WriteError(f"cannot write {path}: {os.strerror(errno.EACCES)} (the file is read-only to you)")
    if info is not None:
        mode = info.st_mode & 0o7777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from None
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


#: Names of a descriptor of this process: /dev/stdout, /dev/fd/1, /proc/self/fd/1.
_DESCRIPTOR = re.compile(r"/dev/(?:(stdout)|(stderr)|fd/(\d+))|/proc/self/fd/(\d+)")


def own_stream(path: str) -> int | None:
    """The descriptor of this process that ``path`` names (standard output for
    /dev/stdout, say), or None. Opening such a name would truncate what the shell
    redirected it to, and replacing it would replace that file."""
    m = _DESCRIPTOR.fullmatch(path)
    if m is None:
        return None
    fd = 1 if m.group(1) else 2 if m.group(2) else int(m.group(3) or m.group(4))
    try:
        os.fstat(fd)
    except OSError:
        return None
    return fd


@contextmanager
def _opened(path: str, descriptor: int | None = None):
    """A device, a pipe, or one of this process's descriptors, as UTF-8 text for writing."""
    try:
        if descriptor is not None:
            sys.stdout.flush()
            fh = open(os.dup(descriptor), "w", encoding="utf-8", newline="")
        else:
            fh = open(path, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from None
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
    """Are two paths one regular file (a device or a pipe, /dev/null, is read and written at
    once without harm)? Two names of a file not there yet are compared as paths."""
    try:
        return _same_regular_file(os.stat(a), os.stat(b))
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def same_stream(a, b) -> bool:
    """Are two open streams the same regular file (standard input and output both redirected to it)?"""
    try:
        return _same_regular_file(os.fstat(a.fileno()), os.fstat(b.fileno()))
    except (OSError, ValueError, AttributeError):
        return False


def stream_is_file(stream, path: str) -> bool:
    """Is the open stream (standard input, say) the regular file at ``path``? False when either
    cannot be looked at, and for a terminal, a pipe or a device (/dev/stdin typed at a terminal,
    /dev/null), which reading and writing at once cannot harm."""
    try:
        return _same_regular_file(os.fstat(stream.fileno()), os.stat(path))
    except (OSError, ValueError, AttributeError):
        return False


def _same_regular_file(a: os.stat_result, b: os.stat_result) -> bool:
    return stat.S_ISREG(a.st_mode) and (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
