"""The terminal a person reads ddx at: whether a stream is one, how wide it is, colour, and the
dialogue of the interactive commands (the guide, the quiz). A file or a pipe gets whole lines."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from typing import Any, Callable

import click


def use_color(flag: bool | None, stream=None) -> bool:
    """--color/--no-color wins; then NO_COLOR (any non-empty value) turns colour off; then is it a terminal?"""
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    return isatty(stream or sys.stdout)


#: Dialogue lines are wrapped to the terminal, but never narrower than this.
MIN_DIALOGUE_WIDTH = 20


def isatty(stream) -> bool:
    return stream is not None and hasattr(stream, "isatty") and stream.isatty()


def read_answer() -> str:
    """One line of standard input ('' at its end, or when it is closed: <&-); bytes that are
    not UTF-8 become U+FFFD, so such an answer is refused like any misspelling."""
    if sys.stdin is None:
        return ""
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:
        return sys.stdin.readline()
    return buffer.readline().decode("utf-8", errors="replace")


def _columns(stream) -> int:
    """The width to wrap to: COLUMNS when set to a width (a whole number above 0, as shutil reads
    it; '0', '80x' or a superscript two are none), else the width of the terminal ``stream``
    writes to; a terminal that reports no width (0 columns: a pseudo-terminal whose size was
    never set) gets shutil's, 80 when nothing tells it."""
    import shutil

    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isascii() and columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        width = os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        width = 0
    return width if width > 0 else shutil.get_terminal_size().columns


def fit(text: str, err: bool) -> str:
    """Wrap a dialogue line to the terminal's width, continuing under its indent (pipes get it
    whole); colour codes take no room."""
    from .render import fit_painted

    width = terminal_width(sys.stderr if err else sys.stdout)
    if width is None:
        return text
    width = max(width, MIN_DIALOGUE_WIDTH)
    out = []
    for line in text.split("\n"):
        shown = click.unstyle(line)  # the indent a colour code at the start would hide
        out += fit_painted(line, width, " " * (len(shown) - len(shown.lstrip()) + 4))
    return "\n".join(out)


def terminal_width(stream=None) -> int | None:
    """The width text for a person wraps to (a dialogue line, a table): the terminal's (COLUMNS
    when set) less one, so that a full line never wraps on its own; None, lines left whole, for
    a file or a pipe."""
    stream = stream or sys.stdout
    return max(_columns(stream) - 1, 1) if isatty(stream) else None


def shows_on_stderr(err: bool) -> bool:
    """Whether an interactive command talks on stderr: asked to (err), or a reader at a terminal
    (stdin and stderr) whose stdout goes to a file, who would otherwise answer questions not
    shown. A pipe (| tee log) still gets the dialogue on stdout, as the reader sees it."""
    return err or (isatty(sys.stdin) and isatty(sys.stderr) and to_a_file(sys.stdout))


def to_a_file(stream) -> bool:
    """Whether ``stream`` writes to a file or a device other than a terminal: not a pipe or a socket."""
    import stat

    if stream is None or isatty(stream):
        return False
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False
    return not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode))


#: What an interactive command asks with (a prompt in, an answer line out, None at end of
#: input) and says with; dialogue() makes both, a test gives its own.
Ask = Callable[[str], "str | None"]
Say = Callable[[str], None]
#: Answers that end a dialogue (the guide still shows the full assessment, the quiz the answer).
STOP = frozenset({"q", "quit", "stop", "exit", "done"})
#: Answers that explain the question asked and ask it again; '?' is help here, though a data
#: cell of '?' means unknown (findings.UNKNOWN).
HELP = frozenset({"h", "help", "?"})


#: A piped answer longer than this is echoed cut short (findings.quoted): three full names,
#: the longest answer a reader types, come to about 200 characters.
ECHOED = 300


def dialogue(err: bool, colored: bool):
    """(ask, say) for an interactive command: lines to stdout (stderr with err), answers from stdin.

    ask(prompt) reads one line and returns None at end of input. When the
    answers come from a pipe they are echoed after the prompt, so a scripted
    session prints as a readable transcript (an answer longer than ECHOED
    as its start and its length). A byte-order mark that an editor put
    before the first answer of a file is not part of that answer. A reader
    at a terminal whose stdout is redirected sees the dialogue on stderr,
    and stdout gets its transcript, each prompt with its answer. A stderr
    whose reader has gone is written no more; the dialogue goes on.
    """
    from .findings import quoted

    first = True
    on_stderr = shows_on_stderr(err)
    transcript = on_stderr and not err
    stderr_gone = False

    def show(text: str, nl: bool = True) -> None:
        nonlocal stderr_gone
        if on_stderr and stderr_gone:
            return
        try:
            click.echo(text, nl=nl, err=on_stderr, color=colored)
        except OSError:
            if not on_stderr:
                raise
            stderr_gone = True

    def say(text: str) -> None:
        show(fit(text, on_stderr))
        if transcript:
            click.echo(text)

    def ask(prompt: str) -> str | None:
        nonlocal first
        show(fit(prompt.rstrip(), on_stderr) + " ", nl=False)
        line = read_answer()
        if not line:
            show("")
            return None
        line = line.rstrip("\r\n")
        if first:
            first = False
            line = line.removeprefix("\ufeff")
        if not isatty(sys.stdin) or not (on_stderr or isatty(sys.stdout)):
            # piped answers, and typed ones whose dialogue goes to a pipe or a file (| tee log),
            # join the record after their prompt, so that it reads as the session
            show(quoted(line, str, ECHOED))
        if transcript:
            click.echo(f"{prompt.rstrip()} {quoted(line, str, ECHOED)}")
        return line

    return ask, say


def tell(show: Callable[[], Any]) -> None:
    """Say why the run failed on stderr, wrapped to the terminal when stderr is one (click writes
    an error as one line); a stderr whose reader has gone is told nothing, and the exit code
    still says it."""
    try:
        if terminal_width(sys.stderr) is None:
            show()
            return
        said = io.StringIO()
        with contextlib.redirect_stderr(said):
            show()
        click.echo(fit(said.getvalue().rstrip("\n"), True), err=True)
    except OSError:
        pass
