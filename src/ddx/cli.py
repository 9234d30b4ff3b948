"""The ddx command line: wires findings, engine and render together; owns I/O, never medicine."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import sys
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator

import click

from . import DISCLAIMER, __version__
from .errors import BatchError, FindingError, KnowledgeError, WriteError
from .terminal import dialogue, fit, isatty, shows_on_stderr, tell, terminal_width, use_color

if TYPE_CHECKING:  # imported when a command needs them: the command line starts faster
    from .assessment import Assessment
    from .findings import Findings


def exit_codes(*causes: str) -> str:
    """The exit codes of a command that either runs or cannot: 0, 2 for these causes, 70, 129, 130 and 143."""
    return f"Exit codes: 0 done; 2 the command could not run ({', '.join(causes)}); 70 internal error (a bug), 129 hung up, 130 interrupted, 143 terminated.\n"


#: A bug, not a bad input or option (sysexits' EX_SOFTWARE): a script can tell the two apart.
INTERNAL_ERROR = 70
#: What assess, guide, quiz, entities and features return.
EXIT_CODES = exit_codes("bad option or value", "unwritable output", "broken knowledge base")
BATCH_EXIT_CODES = """\
Exit codes: 0 every case assessed; 1 at least one row could not be read
(the others were still written; with --strict, the run stopped there); 2 the
command itself could not run (bad option or value, unreadable input, unknown
column, unwritable output, broken knowledge base); 70 internal error (a bug),
129 hung up, 130 interrupted, 143 terminated.
"""
ALL_EXIT_CODES = """\
Exit codes: 0 done (batch: every case assessed); 1 batch only: at least one
row could not be read (the others were still written; with --strict, the run
stopped there); 2 the command itself could not run (bad option or value,
unknown entity, unreadable input, unknown column, unwritable output, broken
knowledge base); 70 internal error (a bug), 129 hung up, 130 interrupted,
143 terminated.
"""



#: Why the finding options could not be built (features.toml is broken), or None.
SCHEMA_ERROR: KnowledgeError | None = None
#: Why the knowledge base could not be loaded when the options were built, or None: the options
#: then come from features.toml alone, and an option they refuse may be the base's fault.
BASE_ERROR: Exception | None = None


def _schema() -> dict:
    """The feature schema the options are built from: the knowledge base's (usually cached, and
    needed by the command anyway), else features.toml alone, else none (SCHEMA_ERROR says why).
    Nothing raised here may escape: this runs on import, before main() can report it."""
    global SCHEMA_ERROR, BASE_ERROR
    from .knowledge import default_knowledge

    try:
        return default_knowledge().features
    except Exception as exc:  # a broken base, or a bug: said when a command needs the base
        BASE_ERROR = exc
    from .knowledge import load_features

    try:
        return load_features()
    except KnowledgeError as exc:  # commands that need it fail on use, naming the problems
        SCHEMA_ERROR = exc
    except Exception:  # a bug, raised again where a command loads the base, and reported there
        pass
    return {}


FEATURES = _schema()

#: Problems of a broken knowledge base shown by a command that needs it (kb check lists all).
SHOWN_PROBLEMS = 10


def broken_knowledge(exc: KnowledgeError) -> str:
    """The first problems of a broken knowledge base (the packaged one: each at its path, as
    `ddx kb check` shows it, to open in an editor), and where to see them all."""
    issues = exc.issues
    where = _shown_folder(None)
    lines = [f"the knowledge base has {len(issues)} problem(s):"] + [f"  {os.path.join(where, str(i))}" for i in issues[:SHOWN_PROBLEMS]]
    if len(issues) > SHOWN_PROBLEMS:
        lines.append(f"  ... and {len(issues) - SHOWN_PROBLEMS} more")
    lines.append("Run `ddx kb check` for the full report.")
    return "\n".join(lines)


class CommandError(click.ClickException):
    """The command cannot run (exit 2, as the output contract says)."""

    exit_code = 2


def untouched(path: str) -> str:
    """What became of an -o file that is written only at the end, when the end never came."""
    if not path:
        return "nothing was written"
    return f"{path} was left as it was" if os.path.lexists(path) else f"{path} was not created"


class OutputError(CommandError):
    """Writing the output failed (a full disk, say): the command could not run, not a bug."""

    def __init__(self, exc: OSError, path: str = "-"):
        reason = exc.strerror or str(exc)
        if path != "-":
            reason = f"{path}: {reason}"
            if not written_through(path):
                reason += f"; {untouched(path)}"
        super().__init__(f"cannot write the output: {reason}")

    def show(self, file=None) -> None:
        click.echo(f"ddx: {self.format_message()}", err=True)


def written_through(path: str) -> bool:
    """Whether output to ``path`` goes out as it is written (standard output, a device, a pipe)
    rather than to a file that appears only at the end."""
    from .files import own_stream

    return path == "-" or own_stream(path) is not None or (os.path.exists(path) and not os.path.isfile(path))


@contextlib.contextmanager
def written_to(output: str) -> Iterator[Any]:
    """Standard output (``-``) or an atomic file as text; a problem with the input as a
    whole, or a failed write, becomes the command's error (exit 2)."""
    from . import files

    try:
        with files.stdout_text() if output == "-" else files.atomic_output(output) as sink:
            yield sink
    except (BatchError, WriteError) as exc:
        raise CommandError(str(exc) if written_through(output) else f"{exc}; {untouched(output)}") from None
    except OSError as exc:
        if isinstance(exc, BrokenPipeError) and (output == "-" or files.own_stream(output) is not None):
            raise  # our own standard output's reader went away (| head, even through -o /dev/stdout): the end
        raise OutputError(exc, output) from None


class ClosedPipe(Exception):
    """The reader of standard output went away (`ddx ... | head`): the end, not an error."""


class Whole(click.IntRange):
    """A whole number in a range, named so in errors ('3.5' is not a valid whole number)."""

    name = "whole number"

    def get_metavar(self, *args: Any, **kwargs: Any) -> str:
        return "N"


def _with_disclaimer(epilog: str | None) -> str:
    """Every command's help ends by saying what ddx is not, before its exit codes."""
    return DISCLAIMER if not epilog else f"{DISCLAIMER}\n\n{epilog}"


class Command(click.Command):
    """A command whose stray words (a value with spaces left unquoted: `--enhancement mural
    nodule`, `ddx explain epidural abscess`) are told apart from a mistyped command line:
    the error names the option or argument, the whole value and the quoting that fixes it.
    Its help says that ddx is a teaching and research aid, not a medical device."""

    def __init__(self, *args: Any, epilog: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, epilog=_with_disclaimer(epilog), **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not ctx.resilient_parsing and not set(args) & set(ctx.help_option_names):
            problem = _missing_value(self, ctx, list(args)) or _stray_words(self, ctx, list(args))
            if problem is not None:
                raise problem
        return super().parse_args(ctx, args)


def _missing_value(command: click.Command, ctx: click.Context, args: list[str]) -> click.UsageError | None:
    """The error for an option given no value, followed by another option (`--cord --dural-tail yes`),
    which click would otherwise take as its value; or None."""
    for word, after in zip(args, args[1:]):
        if word == "--":
            break
        if _takes_value(command, word) and after.startswith("-") and _is_option(command, after.split("=", 1)[0]):
            param = next(p for p in command.params if word in p.opts or word in p.secondary_opts)
            feature = FEATURES.get(param.name)
            values = feature.values if feature is not None and feature.values else ()
            wanted = f": give one of {', '.join(values)}" if values else ""
            return click.BadParameter(f"needs a value, but the option {after.split('=', 1)[0]} follows it{wanted}",
                                      ctx=ctx, param_hint=f"'{word}'")
    return None


def _is_option(command: click.Command, word: str) -> bool:
    return any(word in p.opts or word in p.secondary_opts for p in command.params if isinstance(p, click.Option))


def _leftover(command: click.Command, ctx: click.Context, args: list[str]) -> list[str] | None:
    """The words click's own parser leaves over from ``args``, or None when it cannot parse them
    (click then says why)."""
    try:
        return command.make_parser(ctx).parse_args(args=list(args))[1]
    except click.UsageError:
        return None


def _takes_value(command: click.Command, word: str) -> bool:
    """Whether ``word`` is an option that takes a value (--cord), not a flag (--sources, --no-color)."""
    param = next((p for p in command.params if word in p.opts or word in p.secondary_opts), None)
    return isinstance(param, click.Option) and not param.is_flag and not param.count


def _reads_alone(feature, value: str, joined: str) -> bool:
    """Whether ``value`` is a finding of its own that ``joined`` (it with the words left over) is not,
    so that quoting would not help. A list ('thoracic lumbar') is left to quote: its error then
    says to separate the values with ';'."""
    from .findings import parse_value

    if feature.kind == "list":
        return False
    try:
        parse_value(feature, value)
    except FindingError:
        return False
    try:
        parse_value(feature, joined)
    except FindingError:
        return True
    return False


def _all_values(feature, words: list[str]) -> bool:
    """Whether each word is a value of the list finding on its own (a vertebra such as T10 too)."""
    from .findings import parse_value

    try:
        for w in words:
            parse_value(feature, w)
    except FindingError:
        return False
    return True


def _stray_words(command: click.Command, ctx: click.Context, args: list[str]) -> click.UsageError | None:
    """The error for the first word that no option or argument takes, or None when there is none."""
    if not _leftover(command, ctx, args):
        return None
    # the shortest start of the command line that leaves a word over ends with that word
    k = next((k for k in range(1, len(args) + 1) if _leftover(command, ctx, args[:k])), None)
    if k is None:
        return None
    words = list(itertools.takewhile(lambda w: w == "-" or not w.startswith("-"), args[k - 1:]))
    rest = " ".join(words)
    before = args[k - 2] if k >= 2 else None
    option = None
    if before is not None and before.startswith("--") and "=" in before:
        option, value = before.split("=", 1)
    elif before is not None and k >= 3 and _takes_value(command, args[k - 3]):
        option, value = args[k - 3], before
    if option is not None:
        param = next((p for p in command.params if option in p.opts), None)
        if param is not None and param.name in FEATURES and _reads_alone(FEATURES[param.name], value, f"{value} {rest}"):
            param = None  # 'expanded rim' is no cord: the word after a whole value wants an option of its own
        listed = FEATURES.get(param.name) if param is not None else None
        if listed is not None and listed.kind == "list" and _all_values(listed, [value, *words, ";".join([value, *words])]):
            return click.BadParameter(
                f"{value!r} is followed by {rest!r}, which no option takes: several values are separated by ';' "
                f'and quoted ({option} "{";".join([value, *words])}")', ctx=ctx, param_hint=f"'{option}'")
        if listed is not None and listed.kind == "list" and _all_values(listed, [value, *words]):
            # each a value, but not together (nf1 with none): say why, as the joined value would
            from .findings import parse_value

            try:
                parse_value(listed, ";".join([value, *words]))
            except FindingError as exc:
                return click.BadParameter(f"{value!r} is followed by {rest!r}: {exc.message.split(': ', 1)[1]}",
                                          ctx=ctx, param_hint=f"'{option}'")
        if listed is not None and not _all_values(listed, [f"{value} {rest}"]):
            param = None  # quoting would not help: the words after it want options of their own
        if isinstance(param, click.Option) and not param.is_flag and isinstance(param.type, (click.types.StringParamType, click.Path)):
            return click.BadParameter(
                f"{value!r} is followed by {rest!r}, which no option takes: a value with spaces must be quoted "
                f'({option} "{value} {rest}")', ctx=ctx, param_hint=f"'{option}'")
    elif before is not None and not before.startswith("-"):
        param = next((p for p in command.params if isinstance(p, click.Argument)), None)
        if param is not None and isinstance(param.type, click.Path) and os.path.exists(before) and not os.path.exists(f"{before} {rest}"):
            return click.BadParameter(
                f"{before!r} is followed by {rest!r}: {ctx.command_path} reads one {param.human_readable_name}; "
                "run it once for each", ctx=ctx, param_hint=f"'{param.human_readable_name}'")
        if param is not None:
            return click.BadParameter(
                f"{before!r} is followed by {rest!r}: {ctx.command_path} takes one {param.human_readable_name}, "
                f'so a name with spaces must be quoted ({ctx.command_path} "{before} {rest}")', ctx=ctx, param_hint=f"'{param.human_readable_name}'")
    if any(p.name in FEATURES for p in command.params):
        word = words[0] if words else args[k - 1]
        owners = [f for f in FEATURES.values() if word.lower() in (f.values or ())]
        example = f"{owners[0].option} {word}" if len(owners) == 1 else "--cord displaced"
        return click.UsageError(
            f"Got unexpected extra argument ({args[k - 1]}): each finding is an option followed by its value, "
            f"such as {example} (`ddx features` lists them)", ctx=ctx)
    return None


class Group(click.Group):
    """A command group that shows its help when called with no command (exit 0), and hands a
    closed output pipe to main() as ClosedPipe (click itself would exit 1); its help, as its
    commands', says that ddx is not a medical device."""

    group_class = type
    command_class = Command

    def __init__(self, *args: Any, epilog: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, epilog=_with_disclaimer(epilog), **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            if not args and not ctx.resilient_parsing:
                click.echo(ctx.get_help(), color=ctx.color)
                ctx.exit()
            return super().parse_args(ctx, args)
        except BrokenPipeError:
            raise ClosedPipe from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise ClosedPipe from None


def format_option(*formats: str, help: str = "output format"):
    """--format, the first of ``formats`` by default, taken in any case as finding values are
    (`--format JSON`)."""
    return click.option("--format", "fmt", type=click.Choice(formats, case_sensitive=False), default=formats[0],
                        show_default=True, help=help)


def color_option(what: str):
    """--color/--no-color for a command whose output colours ``what``."""
    return click.option("--color/--no-color", default=None,
                        help=f"colour {what} (default: on a terminal, unless NO_COLOR is set)")


def knowledge(priors: str | None = None):
    """The packaged knowledge base (with the priors --priors names, else the default ones), or a
    usage-level failure naming every problem."""
    from .knowledge import PRIORS, knowledge_with_priors

    try:
        return knowledge_with_priors(priors or next(iter(PRIORS)))
    except KnowledgeError as exc:
        raise CommandError(broken_knowledge(exc)) from None


def priors_option(command):
    """--priors: the model's priors, fitted to published cases, or the reference population's."""
    from .knowledge import PRIORS

    return click.option(
        "--priors", type=click.Choice(list(PRIORS), case_sensitive=False), default=next(iter(PRIORS)),
        show_default=True,
        help="case-reports: the reference population's priors flattened within each compartment, as fits "
             "published cases, where rare entities are over-represented (the accuracy figures are measured so); "
             "registry: as common as they are among lesions imaged for a suspected spinal tumour, as a "
             "routine list meets them (common entities come first, and a rare don't-miss entity falls under the "
             "flag floor more often; not what the figures measure)")(command)


def finding_options(command):
    """One option per column of the feature schema (--foraminal-extension yes, ...)."""
    for feature in reversed(list(FEATURES.values())):
        if feature.kind == "integer":
            metavar = f"{feature.min}-{feature.max}" if feature.max is not None else f"{feature.min}+"
        elif feature.kind == "yesno":
            metavar = "yes|no"
        else:
            metavar = "|".join(feature.values)
            if feature.kind == "list":
                metavar = f"[{metavar}];..."
        help_text = (f"{feature.help}; quote several in a shell ({feature.option} '{feature.values[0]};{feature.values[1]}'), "
                     "or repeat the option") if feature.kind == "list" else feature.help
        # every finding option collects its uses, so that a one-value finding given twice
        # with two values is refused (as a column twice in a batch header is), not overwritten
        command = click.option(feature.option, feature.id, metavar=metavar, help=help_text, multiple=True)(command)
    if SCHEMA_ERROR is not None:
        import inspect

        command.__doc__ = inspect.cleandoc(command.__doc__ or "") + (
            "\n\nThe finding options are missing: features.toml is broken; `ddx kb check` says why.")
    return click.option("--case-id", multiple=True, callback=_one_case_id, help="an identifier copied to the output")(command)


def _given_twice(uses: tuple[str, ...], **where: Any) -> click.BadParameter:
    """The error of an option given twice with different values: the last one does not silently win."""
    shown = " and ".join(repr(u) for u in dict.fromkeys(uses))
    return click.BadParameter(f"given twice, as {shown}: give it once", **where)


def _one_case_id(ctx: click.Context, param: click.Parameter, uses: tuple[str, ...]) -> str | None:
    """--case-id given twice with two ids is refused, as a finding given twice is, not overwritten."""
    if len(set(uses)) > 1:
        raise _given_twice(uses)
    if uses and re.search("[\udc80-\udcff]", uses[0]):  # bytes the locale could not decode
        raise click.BadParameter(f"{uses[0]!r} is not UTF-8 text: the record could not carry it")
    return uses[0] if uses else None


def parse_cli_findings(cells: dict[str, Any]):
    from .findings import parse_findings, parse_value

    try:
        given = {}
        for column, uses in cells.items():
            if not isinstance(uses, tuple):
                given[column] = uses
            elif FEATURES[column].kind == "list":
                given[column] = ";".join(uses) if uses else None
            elif len({parse_value(FEATURES[column], u) for u in uses}) > 1:
                raise _given_twice(uses, param_hint=f"'{FEATURES[column].option}'")
            else:
                given[column] = uses[0] if uses else None
        return parse_findings({k: v for k, v in given.items() if v is not None}, knowledge())
    except FindingError as exc:
        feature = FEATURES.get(exc.column)
        hint = feature.option if feature else exc.column
        raise click.BadParameter(exc.message.split(": ", 1)[-1], param_hint=f"'{hint}'") from None


@click.group(
    cls=Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=ALL_EXIT_CODES,
)
@click.version_option(__version__, "-V", "--version", prog_name="ddx")
def cli() -> None:
    """Reason about a spinal lesion on MRI: compartment, ranked differential, don't-miss flags.

    Give the findings you have; leave out what you did not assess (unknown is
    never taken as "no"). A teaching and research aid, not a medical device.

    \b
    Example:
      ddx assess --cord displaced --csf widened --csf-cap yes --foraminal-extension yes
    """


@cli.command(epilog=EXIT_CODES)
@finding_options
@format_option("table", "json", "markdown")
@click.option("--top", type=Whole(1), default=5, show_default=True, help="candidates shown in the table and markdown (JSON always lists every entity)")
@color_option("the flags")
@priors_option
def assess(fmt: str, top: int, color: bool | None, priors: str, **cells: Any) -> None:
    """Assess one lesion from its findings.

    Every column of the feature schema is an option (`ddx features` lists
    them); values are case-insensitive, yes/no also take y/n/true/false/1/0,
    and list columns separate values with ';'. With no findings at all you get
    the priors ddx starts from: the reference population's, with the spread
    within each compartment flattened (`ddx entities` shows both), or as they
    are with --priors registry.

    \b
    Examples:
      ddx assess --cord expanded --csf effaced --cord-position central --syrinx yes
      ddx assess --dural-sac-displaced yes --csf tapered --vertebral-body yes --known-primary yes
      ddx assess --cord displaced --csf widened --dural-tail yes --sex female --format json
    """
    from .engine import assess as run
    from .render import render_json, render_markdown, render_table

    findings = parse_cli_findings(cells)
    result = run(findings, knowledge(priors))
    if fmt == "json":
        click.echo(render_json(result))
        return
    notes = _other_priors(findings, result, priors)
    if fmt == "markdown":
        click.echo(render_markdown(result, top=top, notes=notes))
    else:
        click.echo(render_table(result, top=top, color=use_color(color), width=terminal_width(), notes=notes), color=use_color(color))


def _other_priors(findings: Findings, result: Assessment, priors: str) -> tuple[str, ...]:
    """The note that the other priors would put another candidate first or the lesion in another
    compartment, if they would: which priors to trust is a modelling choice, so a person sees
    when the answer rests on it."""
    from .engine import assess as run
    from .knowledge import PRIORS
    from .render import other_priors_note

    if not findings.values:
        return ()
    other = next(p for p in PRIORS if p != priors)
    kb_ = knowledge(other)
    note = other_priors_note(result, run(findings, kb_, suggest=0), f"--priors {other}", kb_.settings.reason_min_ratio)
    return (note,) if note else ()


@cli.group()
def kb() -> None:
    """Inspect the knowledge base.

    \b
    Example:
      ddx kb check                 # validate the packaged files
      ddx kb check ./my-knowledge  # validate an edited copy
    """


@kb.command(
    "check",
    epilog="Exit codes: 0 the knowledge base is valid; 2 it has problems (each one is listed), or the command "
    "could not run (bad option, FOLDER not found, unwritable output); 70 internal error (a bug), 129 hung up, 130 interrupted, 143 terminated.",
)
@click.argument("folder", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--notes", is_flag=True, help="list the sign numbers the compartment pictures do not follow (not errors)")
def kb_check(folder: str | None, notes: bool) -> None:
    """Validate the knowledge base: every problem with file, row and reason (exit 2), or a summary line
    (and a one-line note on the sign numbers the compartment pictures do not follow; --notes lists them).

    FOLDER checks a copy of the knowledge files instead of the packaged ones.

    \b
    Examples:
      ddx kb check
      ddx kb check --notes
    """
    from .knowledge import load_knowledge, summary
    from .knowledge.review import MISFIT, idle_findings, picture_misfits

    try:
        kb_ = load_knowledge(folder)
    except KnowledgeError as exc:
        where = _shown_folder(folder)
        for issue in exc.issues:
            click.echo(os.path.join(where, str(issue)), err=True)
        click.echo(f"{len(exc.issues)} problem(s) in the knowledge base in {where}", err=True)
        click.get_current_context().exit(2)
    click.echo(fit(summary(kb_), False))
    for fid, n in idle_findings(kb_):
        click.echo(fit(f"note (not an error): {fid} has numbers for {n} entit{'y' if n == 1 else 'ies'}; an entity without "
                   "one takes the rate of those with one, so it cannot change any result until at least two differ", False))
    misfits = picture_misfits(kb_)
    if misfits and not notes:
        click.echo(fit(f"note (not an error): {len(misfits)} sign numbers differ from the compartment picture of "
                        f"their entity by {MISFIT:g} or more; `ddx kb check --notes` lists them", False))
    elif misfits:
        click.echo(fit(
            f"note (not an error): for {len(misfits)} sign numbers the compartment picture of the entity "
            f"(fitted, or counted in locations.csv) departs from likelihoods.csv by {MISFIT:g} or more. The "
            "engine uses the picture; each such number disagrees with the entity's other sign numbers, or "
            "with where a series counts its lesions, and is worth a review:", False
        ))
        for entity, fid, value, table, model in sorted(misfits, key=lambda m: -abs(m[4] - m[3])):
            counted = " (counted in locations.csv: review the number against the count)" if entity in kb_.locations else ""
            click.echo(fit(f"  {entity} {fid}={value}: likelihoods.csv {table:.2f}, picture model {model:.2f}{counted}", False))


def _shown_folder(folder: str | None) -> str:
    """The knowledge folder as a path to open in an editor: relative to here when it is below."""
    from importlib import resources

    path = os.path.abspath(folder if folder is not None else str(resources.files("ddx.knowledge")))
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else path


@cli.command(epilog=exit_codes("bad option or value", "unknown entity", "unwritable output", "broken knowledge base"))
@click.argument("entity")
@format_option("table", "json", "markdown")
@click.option("--top", type=Whole(1), default=8, show_default=True, help="findings listed each way (for and against)")
@click.option("--sources/--no-sources", default=True, show_default=True, help="list every number under its citation (table format; json and markdown always do)")
@color_option("the don't-miss flag")
@priors_option
def explain(entity: str, fmt: str, top: int, sources: bool, color: bool | None, priors: str) -> None:
    """Show the knowledge card of one ENTITY: what ddx knows about it and why.

    ENTITY is an id from `ddx entities`, the entity's name or a whole alias,
    or a word of its id or name that fits one entity only ('abscess',
    'pilocytic'); a word found only in an alias ('Pott') is suggested, not
    taken, and a word that fits several ('sarcoma'), or one that only says
    where the lesion is or what kind ('conus', 'malignant', 'cyst'), is
    refused with what it could mean. The card
    gives the compartment, whether it is a don't-miss and why, the typical
    patient and level (from the card and from the numbers), the findings that
    favour and disfavour it with their likelihood ratios against the rest of
    the differential (a position in the cord, on a cord lesion's card, against
    the other intramedullary entities), the next step, and the source and grade of every number.
    In JSON, "model_prior" is what ddx starts from and "data_prior" the
    number of priors.csv, as in `ddx entities --format json`; "prior" is
    that number with its source and grade.

    \b
    Examples:
      ddx explain meningioma
      ddx explain leptomeningeal_metastases --top 5 --no-sources
      ddx explain schwannoma --format json
    """
    from .cards import build_card, render_card_json, render_card_markdown, render_card_table
    from .names import UnknownEntityError, find_entity

    kb_ = knowledge(priors)
    try:
        found = find_entity(kb_, entity)
    except UnknownEntityError as exc:
        raise click.BadParameter(str(exc), param_hint="'ENTITY'") from None
    card = build_card(kb_, found.id, top=top)
    if fmt == "json":
        click.echo(render_card_json(card, kb_))
    elif fmt == "markdown":
        click.echo(render_card_markdown(card, kb_))
    else:
        on = use_color(color)
        click.echo(render_card_table(card, kb_, color=on, sources=sources, width=terminal_width()), color=on)


@cli.command(epilog=EXIT_CODES)
@format_option("table", "json", help="output format (json for scripts)")
@color_option("the don't-miss column")
@priors_option
def entities(fmt: str, color: bool | None, priors: str) -> None:
    """List the candidate diagnoses: id, name, compartment, don't-miss, prior.

    The ids are the machine-readable names in every output; they never change
    meaning once released. The prior is what ddx starts from before any
    finding; data is the number of the reference population it comes from
    (priors.csv), whose spread within each compartment the prior flattens
    (`ddx explain ID` shows its source). The JSON, like that of `ddx explain`,
    gives them as "model_prior" and "data_prior" (with "data_prior_source"
    and "data_prior_grade"); "prior" is the model prior.

    \b
    Examples:
      ddx entities
      ddx entities --format json
    """
    import json

    from .cards import entity_rows, render_entities_table

    kb_ = knowledge(priors)
    if fmt == "json":
        click.echo(json.dumps(entity_rows(kb_), indent=2, ensure_ascii=False))
    else:
        on = use_color(color)
        click.echo(render_entities_table(kb_, color=on, width=terminal_width()), color=on)


@cli.command(epilog=EXIT_CODES)
@format_option("table", "json", help="output format (json for scripts)")
def features(fmt: str) -> None:
    """List the findings ddx reads: column, kind, values, help.

    Each column is an option of `ddx assess` (the name with '_' turned into
    '-') and a column of the `ddx batch` CSV. Blank or `unknown` means not
    assessed; yes/no also take y/n/true/false/1/0; list columns separate
    values with ';'.

    \b
    Examples:
      ddx features
      ddx features --format json
    """
    import json

    from .cards import feature_rows, render_features_table
    from .knowledge import load_features

    try:
        schema = load_features()
    except KnowledgeError as exc:
        raise CommandError(broken_knowledge(exc)) from None
    if fmt == "json":
        click.echo(json.dumps(feature_rows(schema), indent=2, ensure_ascii=False))
    else:
        click.echo(render_features_table(schema, width=terminal_width()))


@cli.command(epilog=EXIT_CODES)
@finding_options
@click.option("--max-questions", type=Whole(0), default=None, help="stop after this many questions (default: while a finding would still change the picture)")
@format_option("table", "json", "markdown", help="format of the final assessment (json and markdown: the questions go to stderr, the assessment alone to stdout)")
@click.option("--top", type=Whole(1), default=5, show_default=True, help="candidates shown in the final table or markdown")
@color_option("the flags")
@priors_option
def guide(max_questions: int | None, fmt: str, top: int, color: bool | None, priors: str, **cells: Any) -> None:
    """A guided read of one case: one question at a time, the most informative first.

    Each question names its column in brackets and reads one answer line: a
    value, Enter / 'skip' / 'unknown' to pass, 'help' or '?' for what the
    values mean, 'q' to stop. It asks what best places the lesion (the cord
    and the CSF) until the compartment is clear, then what best separates
    the leading candidates; once the compartment is clear, a finding that
    can raise an emergency flag (the cord: a compressed cord is one) is
    asked next if it was not given.
    After every answer it shows the running compartment and top candidates;
    it ends (on 'q', at end of input, after --max-questions, or when nothing
    left would change the picture) with the full assessment. Findings you
    already have can be given as options and are not asked. With --format
    markdown the assessment is that of `ddx assess --format markdown`, for
    notes; with --format json the record of `ddx assess --format json` gains "guide": each
    question with its answer and status (answered, skipped, stopped for the
    one 'q' was typed at, or end_of_input for the one the input ended on),
    and why the read stopped. Answered at a terminal with stdout sent to a
    file, the questions show on stderr and the file gets the transcript.

    \b
    Examples:
      ddx guide
      ddx guide --known-primary yes --max-questions 5
      printf 'widened\\ndisplaced\\nq\\n' | ddx guide --format json
    """
    from .guide import run_guide, transcript
    from .render import render_markdown, render_table, to_record

    findings = parse_cli_findings(cells)
    err = fmt in ("json", "markdown")
    colored = use_color(color, sys.stderr if shows_on_stderr(err) else sys.stdout)

    ask, say = dialogue(err, colored)
    result = run_guide(knowledge(priors), ask, say, findings=findings, max_questions=max_questions, color=colored)
    say("")
    say(f"Read ended: {result.stopped}.")
    if fmt == "json":
        import json

        record = to_record(result.assessment)
        record["guide"] = {"questions": transcript(result), "stopped": result.stopped}
        click.echo(json.dumps(record, indent=2, ensure_ascii=False))
        return
    notes = _other_priors(result.assessment.findings, result.assessment, priors)
    if fmt == "markdown":
        click.echo(render_markdown(result.assessment, top=top, notes=notes))
    else:
        say("")
        if shows_on_stderr(False):
            click.echo(render_table(result.assessment, top=top, notes=notes))
            table = render_table(result.assessment, top=top, color=colored, width=terminal_width(sys.stderr), notes=notes)
            tell(lambda: click.echo(table, err=True, color=colored))
        else:
            click.echo(render_table(result.assessment, top=top, color=colored, width=terminal_width(), notes=notes), color=colored)


@cli.command(epilog=EXIT_CODES)
@click.option("--seed", type=int, default=None, help="pick the case this seed picks (the same seed replays the same case); not used with --case")
@click.option("--case", "case_id", default=None, metavar="ID", help="pick the case with this id (shown when a case is revealed)")
@click.option("--rounds", type=Whole(1), default=1, show_default=True, help="play this many different cases in a row, with a total score")
@color_option("the score and the flags")
@priors_option
def quiz(seed: int | None, case_id: str | None, rounds: int, color: bool | None, priors: str) -> None:
    """Commit-first practice on a real published case shipped with ddx.

    You see the findings the case's page described; you commit a compartment
    (im, idem or ed, or its name; a case whose page describes no finding that
    points to one is told its compartment and scores the diagnosis only),
    then your top 3 diagnoses, best first,
    comma-separated (ids as `ddx entities` lists them; names, aliases,
    abbreviations such as MPNST, British spellings, unambiguous starts and
    words that fit one diagnosis only work too, but not a place or an
    adjective alone, such as 'conus' or 'malignant'; a name that fits several is
    read as the one in the compartment you chose (or were told), if only one is, and a pick
    that still cannot be read, such as 'sarcoma', is asked for again on its
    own, with what it could mean, the other picks kept). Only then does ddx
    reveal the answer with its source and case id, score your read, show
    its own differential, whether the other priors (--priors) would lead
    with another diagnosis, what in the case points to the answer and, when
    ddx ranked another first, what put that one ahead of it. 'help'
    (or '?') explains the question asked; 'q' stops and shows the answer,
    scoring what was given. Without --seed or --case a case is drawn at random and
    its seed is shown, so you can replay it; --rounds plays several
    different cases (at most as many as ship with ddx), each headed by what
    replays it. Played at a terminal with stdout sent to a file, the
    questions show on stderr and the file gets the transcript.

    \b
    Examples:
      ddx quiz
      ddx quiz --seed 16 --rounds 5
      printf 'idem\\nmeningioma, schwannoma, MPNST\\n' | ddx quiz --seed 16
    """
    import random

    from .knowledge import PRIORS
    from .quiz import STOPPED, QuizError, choose, draw, load_cases, run_quiz

    kb_ = knowledge(priors)
    other = next(p for p in PRIORS if p != priors)
    try:
        cases = load_cases(kb_)
        if case_id is not None:
            if rounds > 1:
                click.echo(f"--case picks one case: playing it once, not {rounds} rounds.", err=True)
            if seed is not None:
                click.echo(f"--case picks the case: --seed {seed} is not used.", err=True)
            chosen = (choose(cases, case_id=case_id),)
        else:
            if seed is None:
                seed = random.SystemRandom().randrange(1, 10_000)
            chosen = draw(cases, seed=seed, rounds=rounds)
    except QuizError as exc:
        raise CommandError(str(exc)) from None
    colored = use_color(color, sys.stderr if shows_on_stderr(False) else sys.stdout)
    ask, say = dialogue(False, colored)

    points = possible = played = 0
    stopped = ""
    for n, case in enumerate(chosen, 1):
        if n > 1:
            say("\n" + "-" * 60 + "\n")
        result = run_quiz(kb_, case, ask, say, color=colored, other=(knowledge(other), f"--priors {other}"))
        if result.compartment is not None:
            points += result.score.points
            possible += result.score.possible
            played += 1
        if result.ended:
            if n < len(chosen):
                why = "stopped" if result.ended == STOPPED else "the input ended"
                stopped = f"; {why} at round {n} of {len(chosen)}"
            break
    if len(chosen) > 1 and played:
        say(f"\nTotal: {points}/{possible} over {played} case(s){stopped}.")
    elif len(chosen) > 1:
        say(f"\nNo case was scored{stopped}.")


class RowsFailed(click.ClickException):
    """--strict stopped at a row that could not be read (exit 1: the data, not the command)."""

    exit_code = 1


#: Off a terminal, --progress writes a line at most this often (seconds).
PROGRESS_LINE_EVERY = 5.0


def _progress(inp, enabled: bool | None):
    """A callback drawing progress on stderr, or None (the default unless stderr is a terminal)."""
    terminal = isatty(sys.stderr)
    if enabled is None:
        enabled = terminal
    if not enabled or sys.stderr is None:
        return None, lambda done: None
    if not terminal:  # asked for off a terminal (a log file): a line now and then, no bar
        last = [time.monotonic()]

        def line(rows: int) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_LINE_EVERY:
                last[0] = now
                click.echo(f"ddx batch: {rows:,} rows", err=True)

        return line, lambda done: None
    if inp.size:
        bar = click.progressbar(length=inp.size, label="ddx batch", file=sys.stderr, show_pos=False)
        drawn = [False]

        def show(rows: int) -> None:
            pos = inp.position()
            if pos is not None and pos > bar.pos:
                bar.update(pos - bar.pos)
                drawn[0] = True

        def finish(done: bool) -> None:
            if done:
                bar.update(max(inp.size - bar.pos, 0))
            elif not drawn[0]:  # failed before the first row: no bar to end, no blank line before the error
                return
            bar.render_finish()

        return show, finish

    counted = [False]

    def count(rows: int) -> None:
        click.echo(f"\rddx batch: {rows:,} rows", nl=False, err=True)
        counted[0] = True

    def end(done: bool) -> None:
        if counted[0]:  # end the count's line; none drawn, no blank line before the summary or the error
            click.echo("", err=True)

    return count, end


@cli.command(epilog=BATCH_EXIT_CODES)
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("-o", "--output", default="-", type=click.Path(dir_okay=False, readable=False, allow_dash=True), help="write to this file instead of standard output, atomically: it appears once every row has a record, and is left untouched when the whole file fails or --strict stops")
@format_option("csv", "ndjson", "json", help="csv: one line per row with the top candidates; ndjson/json: the full assessment of each row (as assess --format json), about 100-200x slower")
@click.option("--top", type=Whole(1), default=3, show_default=True, help="candidate columns in the CSV, at most the number of candidates (`ddx entities`); more is an error, since a script relies on the columns it asked for (JSON always lists every candidate)")
@click.option("--passthrough", multiple=True, metavar="COLUMN", help="copy an input column to the output (repeatable), e.g. an accession number; in CSV a value that a spreadsheet would run as a formula gets a leading apostrophe, as every text cell does")
@click.option("--ignore", multiple=True, metavar="COLUMN", help="leave an input column out (repeatable), e.g. a diagnosis or notes column; a finding's column left out is read as not assessed")
@click.option("--strict", is_flag=True, help="stop at the first row that cannot be read (exit 1) instead of writing its error record and going on")
@click.option("--encoding", default="utf-8-sig", show_default=True, help="encoding of INPUT (utf-8-sig also reads a BOM); e.g. cp1252 for Excel on Windows, latin-1, utf-16")
@click.option("--delimiter", default=None, metavar="CHAR", help="separator of INPUT: ',', ';' or 'tab' (default: the one an Excel 'sep=' first line names, else ','; ';' or tab when the header has no comma)")
@click.option("--next-findings", "suggest", type=Whole(0), default=3, show_default=True, metavar="N", help="next best findings in each ndjson/json record; 0 leaves them out, which about halves the time of a record (the CSV has none)")
@click.option("--progress/--no-progress", default=None, help="progress on stderr (default: when stderr is a terminal)")
@priors_option
def batch(input_path: str, output: str, fmt: str, top: int, passthrough: tuple[str, ...], ignore: tuple[str, ...], strict: bool, encoding: str, delimiter: str | None, progress: bool | None, priors: str, suggest: int) -> None:
    """Assess every row of a CSV of findings: one result per row, in order.

    INPUT is a CSV whose header names the columns (`ddx template` writes it;
    `-` reads standard input). Exactly one record is written per data row,
    numbered from 1 (the line after the header; blank lines are skipped); an
    empty cell, unknown, ?, na, n/a or skip means not assessed, so a row of
    empty cells (a spreadsheet's trailing ',,,') is a case with no findings,
    ranked on the priors alone, don't-miss flags included: delete such rows.
    The CSV written is UTF-8 without a byte-order mark.
    A row that cannot be read becomes an error record naming the row, the
    column, the value and the fix, and the batch goes on (exit 1 at the end);
    a problem with the whole file (unknown column, no header) stops it before
    anything is written (exit 2). A one-line summary goes to stderr. Text
    copied from INPUT into a CSV cell is protected against spreadsheet
    formulas (a leading apostrophe before =, +, -, @).

    CSV runs at tens of thousands of rows per second, so it is the format for
    large files; ndjson and json carry the full assessment of every row
    (reasons, flags, next best findings) and are about 100-200x slower, a few
    hundred rows per second; --next-findings 0 leaves the next best findings
    out and about doubles that.

    \b
    Examples:
      ddx template > cases.csv
      ddx batch cases.csv -o results.csv
      ddx batch cases.csv --format ndjson --passthrough accession  # a sheet with an accession column
      ddx batch cases.csv --ignore diagnosis --ignore notes    # and these, left unread
      ddx batch - --delimiter ';' < export.csv
    """
    from . import batch as b
    from .csv_input import open_input, parse_delimiter
    from .files import same_file, same_stream, stream_is_file

    kb_ = knowledge(priors)
    if output != "-" and input_path != "-" and same_file(input_path, output):
        raise CommandError(f"refusing to write the output over the input {input_path}; choose another -o")
    if output != "-" and input_path == "-" and sys.stdin is not None and stream_is_file(sys.stdin, output):
        raise CommandError(f"refusing to write the output over the input: standard input is {output}; choose another -o")
    if output == "-" and sys.stdout is not None and (
            stream_is_file(sys.stdout, input_path) if input_path != "-" else sys.stdin is not None and same_stream(sys.stdin, sys.stdout)):
        # `ddx batch X >> X` would read its own records back for ever
        raise CommandError("refusing to write the output over the input: standard output is "
                           f"{'standard input' if input_path == '-' else input_path}; redirect it to another file")
    try:
        inp = open_input(input_path, encoding)
    except BatchError as exc:
        raise CommandError(str(exc)) from None
    if input_path == "-" and sys.stdin.isatty():
        click.echo("ddx batch: reading CSV from standard input (end it with Ctrl-D)", err=True)
    show, finish = _progress(inp, progress)
    name = "standard input" if input_path == "-" else input_path
    done = False
    try:
        with written_to(output) as sink:
            inp.before_waiting(sink.flush)
            summary = b.run(
                inp.text, sink, fmt=fmt, top=top, passthrough=passthrough, ignore=ignore, strict=strict,
                delimiter=parse_delimiter(delimiter), encoding=encoding, knowledge=kb_, name=name, progress=show, suggest=suggest,
            )
        done = True
    except b.StrictStop as exc:
        kept = f"{exc.written} row(s) were written before it" if written_through(output) else untouched(output)
        raise RowsFailed(f"{exc} (stopped by --strict; {kept})") from None
    finally:
        inp.close()
        finish(done)
    try:
        click.echo(f"ddx batch: {summary.line()}", err=True)
    except OSError:  # stderr gone or full: the records are written, and the exit code still tells
        pass
    if summary.exit_code:
        click.get_current_context().exit(summary.exit_code)


@cli.command(epilog=exit_codes("bad option or value", "-o FILE holds more than a header of ddx columns and --force was not given", "unwritable output", "broken knowledge base"))
@click.option("-o", "--output", default="-", type=click.Path(dir_okay=False, readable=False, allow_dash=True), help="write to this file instead of standard output")
@click.option("--force", is_flag=True, help="replace -o FILE even when it holds more than a header of ddx columns (a sheet already filled in); an empty file or one with only such a header is replaced without it")
def template(output: str, force: bool) -> None:
    """Write the header row of a batch CSV: case_id, then every finding column.

    Open it in a spreadsheet, add one row per lesion (leave a cell empty when
    the finding was not assessed), then run `ddx batch` on it.

    \b
    Example:
      ddx template > cases.csv
    """
    import csv

    columns = ["case_id"] + list(knowledge().features)
    if output != "-" and not force and os.path.isfile(output) and not _header_only(output, columns):
        raise CommandError(f"{output} already holds more than a header of ddx columns (cases, say); pass --force to replace it, or choose another -o")
    with written_to(output) as sink:
        csv.writer(sink, lineterminator="\n").writerow(columns)


#: A file larger than this is not read to see whether it is a bare header: it holds cases.
_HEADER_BYTES = 1 << 16


def _header_only(path: str, columns: list[str]) -> bool:
    """Whether the file is empty or holds only a header of ddx's ``columns`` (an earlier
    template, or one from an older knowledge base): replacing it loses no case, so `ddx
    template -o` may refresh it without --force. A line of anything else may be a case."""
    import csv

    from .csv_input import sniff_delimiter
    from .findings import normalise_column

    if os.path.getsize(path) > _HEADER_BYTES:
        return False
    try:
        with open(path, encoding="utf-8-sig") as f:
            lines = [line for line in f.read().splitlines() if line.strip()]
    except (OSError, UnicodeError):
        return False  # written_to reports what is wrong with the file
    if not lines:
        return True
    if len(lines) > 1:
        return False
    cells = [normalise_column(c) for c in next(csv.reader(lines, delimiter=sniff_delimiter(lines[0])))]
    return cells[:1] == ["case_id"] or all(c in columns for c in cells)


def of_a_finding(exc: click.BadParameter) -> bool:
    """Whether a refused value is a finding's (its option built from features.toml), not that of
    one of the command's own options."""
    options = {f.option for f in FEATURES.values()}
    if exc.param is not None:
        return any(o in options for o in getattr(exc.param, "opts", ()))
    return isinstance(exc.param_hint, str) and exc.param_hint.strip("'\"") in options


def names_a_finding(option: str) -> bool:
    """Whether an option is one features.toml would have made, read off its text alone (the
    file cannot be loaded): a finding's option is then missing, not misspelt."""
    from importlib import resources

    try:
        text = (resources.files("ddx.knowledge") / "features.toml").read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return True
    ids = re.findall(r"""^\s*id\s*=\s*["']([\w-]+)["']""", text, re.MULTILINE)
    # a file that names no finding at all (emptied by mistake) has lost every finding option
    return not ids or option in {"--" + i.replace("_", "-") for i in ids}
