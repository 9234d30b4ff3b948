"""The process around the command line: the entry point, which turns every way a run can end
(a signal, Ctrl-C, a closed pipe, a failed write, a bug) into a message and a documented exit
code, never a traceback."""

from __future__ import annotations

import errno
import io
import os
import signal
import sys

import click

from . import cli as commands
from .errors import DdxError, KnowledgeError
from .terminal import tell


class _ClosedOutput(io.RawIOBase):
    """Standard output when the shell closed it (`>&-`): a write fails as it would on a bad
    descriptor, so the command reports it (exit 2) instead of losing its output silently."""

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        raise OSError(errno.EBADF, "standard output is closed")


def main(argv: list[str] | None = None) -> int:
    """Entry point: click's own error handling, plus Ctrl-C, SIGTERM, closed pipes, failed writes
    and internal errors."""
    closed = sys.stdout is None
    if closed:
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(_ClosedOutput()), encoding="utf-8")
    previous = {signum: _on_terminate(signum) for signum in _ENDING_SIGNALS}
    try:
        try:
            return _run(argv)
        except _Terminated:  # after the command returned: nothing left to clean up
            return 128 + _TERMINATED[0]
    finally:
        for signum, handler in previous.items():
            if handler is not _NOT_SET:
                signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if closed:  # drop what could not be written, so that nothing is left to flush at exit
            stream, sys.stdout = sys.stdout, None
            try:
                stream.close()
            except (OSError, ValueError):
                pass
        if _TERMINATED:
            _die_of(_TERMINATED[0])


class _Terminated(BaseException):
    """SIGTERM (a scheduler's time limit, `timeout`, `kill`) or SIGHUP (the terminal closed):
    unwinds like Ctrl-C, so that a partly written -o file is removed; then ddx ends by the
    signal (a shell shows 143 or 129)."""


#: The signals that end a run as if it were killed, after its clean-up (where the platform has them).
_ENDING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
#: The signal that ended the run, once one has arrived.
_TERMINATED: list[int] = []
_NOT_SET = object()


def _terminate(signum, frame) -> None:
    for ending in _ENDING_SIGNALS:  # a second one must not cut the clean-up short
        signal.signal(ending, signal.SIG_IGN)
    _TERMINATED.append(signum)
    raise _Terminated()


def _on_terminate(signum: int):
    """Turn ``signum`` into _Terminated where it would otherwise kill the process (a caller that
    ignores it, or runs ddx in-process with a handler of its own, keeps it); the previous
    handler, or _NOT_SET where none was installed (not the main thread)."""
    try:
        if signal.getsignal(signum) is not signal.SIG_DFL:  # ignored, or a caller's own handler
            return _NOT_SET
        return signal.signal(signum, _terminate)
    except (ValueError, OSError, AttributeError):
        return _NOT_SET


def _die_of(signum: int) -> None:
    """End the process by the signal itself, as an unhandled one would, so that a parent (a shell,
    xargs, make) sees a process killed by the signal rather than one that chose to exit."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _run(argv: list[str] | None) -> int:
    try:
        code = commands.cli.main(args=argv, prog_name="ddx", standalone_mode=False)
    except _Terminated:
        return 128 + _TERMINATED[0]
    except click.exceptions.Abort:
        tell(lambda: click.echo("Aborted.", err=True))
        return 130
    except click.UsageError as exc:
        if isinstance(exc, click.NoSuchOption) and commands.SCHEMA_ERROR is not None and commands.names_a_finding(exc.option_name):
            tell(lambda: click.echo(f"Error: {exc.option_name} cannot be read: {commands.broken_knowledge(commands.SCHEMA_ERROR)}", err=True))
            return 2
        if isinstance(commands.BASE_ERROR, KnowledgeError) and isinstance(exc, click.BadParameter) and commands.of_a_finding(exc):
            # the finding options were built from features.toml alone: a value they refuse may
            # be right, and the broken base is the error to fix first
            tell(lambda: click.echo(f"Error: {commands.broken_knowledge(commands.BASE_ERROR)}", err=True))
            return 2
        tell(exc.show)
        return exc.exit_code
    except click.ClickException as exc:
        tell(exc.show)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except (commands.ClosedPipe, BrokenPipeError):
        from .files import silence_stdout

        silence_stdout()
        return 0
    except OSError as exc:  # every command turns a failed read into its own error: this is a write
        from .files import silence_stdout

        silence_stdout()
        tell(commands.OutputError(exc).show)
        return 2
    except DdxError as exc:
        tell(lambda: click.echo(f"Error: {exc}", err=True))
        return 2
    except Exception as exc:  # a bug: say so plainly, no traceback unless asked
        from .environment import switched_on

        if switched_on("DDX_TRACEBACK"):
            import traceback

            try:
                traceback.print_exc(file=sys.stderr)  # asked for; the exit code is still a bug's
            except OSError:
                pass
        else:
            tell(lambda: click.echo(f"ddx: internal error ({type(exc).__name__}: {exc}); please report it. "
                                     "Re-run with DDX_TRACEBACK=1 for details.", err=True))
        return commands.INTERNAL_ERROR
    return code if isinstance(code, int) else 0
