"""What a target is: its compiler, its client, its cron-policy mapping and its command-line options.

A target is one ``Target`` object that a package provides (dagwright's own: ``ir``, ``kfp``,
``argo``; others through the ``dagwright.targets`` entry-point group). Everything in it is
called only when that target is used, so a target's heavy libraries (kfp, hera) are imported
there, never when the target is listed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright.errors import ValidationError

if TYPE_CHECKING:
    from dagwright.compiler.delivery import CodeDelivery
    from dagwright.pipelines.ir import PipelineIR
    from dagwright.remote.run_records import RunManager

Writer = Callable[["PipelineIR", "Path | None", dict[str, Any]], str]
"""``(ir, path, options) -> text``: a validated IR as the target's spec. ``path`` is where it
will be written (None: nowhere), ``options`` the keyword options ``compile_ir`` was given;
the writer refuses those it does not take (``refuse_options``)."""

CronPolicy = Callable[[str, "str | None", "str | None", dict[str, Any], dict[str, Any]], None]
"""``(cron, concurrency, catchup, options, remote)``: the local schedule policies
(``--concurrency allow|forbid|replace``, ``--catchup none|latest|all``; None: not given) in the
target's own form, put into its compile ``options`` or its client's ``remote`` keywords. What
the target cannot do is a ValidationError naming the option."""


def _as_given(*_: Any) -> None:
    """Options need no change before compiling."""


@dataclass(frozen=True)
class Client:
    """How a target sends a compiled spec to its cluster.

    Attributes:
        submit: ``(spec, *, arguments, **remote)``: start a run of the spec file; returns what
            the target hands back (a submission to wait on, say).
        schedule: ``(spec, *, cron, arguments, **remote)``: make the spec a recurring run.
        check_cron: ``(cron, *, field)``: refuse a cron the target cannot read, naming
            ``field``; returns it as the target takes it.
        submit_options: ``(options, remote)``: before compiling for ``submit``, move what is
            both a compile option and a remote keyword (Argo's ``kind``) where it belongs.
        schedule_options: ``(cron, options, remote)``: the same before compiling for
            ``schedule`` (Argo compiles a CronWorkflow carrying the cron).
        delete: ``(name, kind, **remote)``: remove what ``submit`` or ``schedule`` made and
            keeps (Argo's WorkflowTemplates and CronWorkflows); None when nothing is kept.
        kept: The ``kind`` values ``delete`` takes.
        runs: ``(**remote) -> RunManager``: the runs the cluster keeps, to list, show, read
            the logs of, cancel and retry (``host``, ``namespace``, ``token``...); None when
            the target cannot (``dagwright.remote.run_records.RunManager``).
    """

    submit: Callable[..., Any]
    schedule: Callable[..., Any]
    check_cron: Callable[..., str]
    submit_options: Callable[[dict[str, Any], dict[str, Any]], None] = _as_given
    schedule_options: Callable[[str, dict[str, Any], dict[str, Any]], None] = _as_given
    delete: Callable[..., None] | None = None
    kept: tuple[str, ...] = ()
    runs: Callable[..., RunManager] | None = None


@dataclass(frozen=True)
class CliOptions:
    """What the command line offers for a target.

    Attributes:
        compile: The compile options it takes, as ``compile_ir`` keywords (``code``, ``kind``).
        remote: The submit and schedule options only it reads, by the command's parameter
            names (``experiment``, ``lint``); given with another target, they are refused.
        remote_keywords: ``(command, flags, options) -> remote``: for ``command`` ("submit" or
            "schedule"), the command's remote flags (``host``, ``namespace``, ``token``,
            ``run_name`` or ``name``, ``echo``, ``wait``..., and this target's ``remote``
            ones) as its client's keywords; it may read the compile ``options`` (Argo's
            ``kind``) and refuse what makes no sense together. None: the flags as they are.
        flags: ``(where) -> click options``: the command-line options only this target
            reads, made when the command line is built (import click inside): ``"compile"``
            its compile options (on compile, submit and schedule add), ``"delivery"``
            compile options listed among the shared ones, after ``--dagwright`` (KFP's
            ``--pipeline-root``), ``"send"`` its
            remote options (on submit and schedule add), ``"schedule"`` those only
            ``schedule add`` takes, ``"compile-command"`` those only ``dagwright compile``
            takes, ``"submit"`` those only ``submit`` takes, ``"delete"`` those of ``delete``
            (with ``--kind``, one of ``Client.kept``; given with no other target). Their
            parameter names are the ones in ``compile`` and ``remote``. Without ``flags`` the
            command line offers none of the target's options.
        compile_keywords: ``(options)``: on ``dagwright compile`` and ``submit``, turn what
            this target's ``"compile-command"`` and ``"submit"`` options hold into compile
            keywords, in place (Argo: ``--concurrency allow`` is
            ``concurrency_policy="Allow"``, ``argo_kind`` is ``kind``); refuse what
            contradicts itself.
        check_schedule: ``(concurrency, catchup, options)``: on ``schedule add`` (every
            target's, whichever is chosen), before anything is loaded, refuse a local
            policy (``--concurrency``, ``--catchup``; None: not given) given with this
            target's own option for the same thing (``options``: the command's, by
            parameter name), naming both flags.
    """

    compile: tuple[str, ...] = ()
    remote: tuple[str, ...] = ()
    remote_keywords: Callable[[str, dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None
    flags: Callable[[str], Sequence[Any]] | None = None
    compile_keywords: Callable[[dict[str, Any]], None] | None = None
    check_schedule: Callable[[str | None, str | None, dict[str, Any]], None] | None = None


@dataclass(frozen=True)
class Target:
    """One thing ``dagwright compile --target NAME`` writes and, with a client, sends.

    Attributes:
        name: What ``--target`` and ``compile(target=...)`` call it.
        write: Its compiler (see ``Writer``).
        description: A few words for listings ("KFP v2 PipelineSpec YAML").
        client: How it submits and schedules; None for a target that only writes (``ir``).
        cron_policy: The local schedule policies in its form (see ``CronPolicy``); None
            when it cannot schedule.
        cli: Its command-line options.
        suffix: The file suffix its spec is written with when dagwright picks the name.
    """

    name: str
    write: Writer
    description: str = ""
    client: Client | None = None
    cron_policy: CronPolicy | None = None
    cli: CliOptions = field(default_factory=CliOptions)
    suffix: str = ".yaml"


def refuse_options(target: str, options: dict[str, Any]) -> None:
    """Refuse the first option given (not None or False) to a target that does not take it.

    Raises:
        ValidationError: naming the option.
    """
    given = {k: v for k, v in options.items() if v not in (None, False)}
    if given:
        raise ValidationError(
            f"the {target} target takes no option '{sorted(given)[0]}'",
            field=sorted(given)[0],
            fix="leave it out for this target",
        )


def split_options(
    target: str, options: dict[str, Any], takes: set[str]
) -> tuple[CodeDelivery, dict[str, Any]]:
    """The code-delivery options as a ``CodeDelivery``, and the other options given.

    Args:
        target: The target's name, for errors.
        options: ``compile_ir``'s keyword options.
        takes: The other option names the target takes.

    Raises:
        ValidationError: for an option the target does not take.
    """
    from dagwright.compiler.delivery import CodeDelivery

    fields = {"code": "mode", "image": "image", "index_url": "index_url", "dagwright": "dagwright"}
    delivery = {fields[k]: v for k, v in options.items() if k in fields and v}
    rest = {k: v for k, v in options.items() if k not in fields and v is not None}
    unknown = sorted(set(rest) - takes)
    if unknown:
        refuse_options(target, {k: rest[k] for k in unknown})
    # not a release from an index: a warning, unless the spec must be right (``strict``)
    return CodeDelivery(**delivery, refuse_unreleased=bool(options.get("strict"))), rest


DELIVERY_OPTIONS = ("code", "image", "index_url", "dagwright")
"""The compile options of every target whose pods install code: how steps get it."""


def not_blank(ctx: Any, param: Any, value: str | None) -> str | None:
    """A click callback for the command line's options (the CLI's and the targets'): an option
    given as "" is refused, not read as "not given" (an empty --cron would otherwise take the
    pipeline's own schedule, an empty --timezone UTC)."""
    import click

    if value is not None and not value.strip():
        raise click.BadParameter("is empty; give a value or leave the option out")
    return value


def one_of(options: dict[str, Any], given: tuple[str, str | None], own: str) -> None:
    """Refuse a local schedule policy given with a target's own option for the same thing.

    Args:
        options: The command's options, by parameter name (None: not given).
        given: The local policy's flag and its value (``("--concurrency", "forbid")``).
        own: The target's option's parameter name (``max_concurrency``); its flag is
            ``--max-concurrency``.

    Raises:
        ValidationError: naming the target's flag.
    """
    flag, value = given
    if value is not None and options.get(own) is not None:
        second = "--" + own.replace("_", "-")
        raise ValidationError(
            f"{flag} and {second} both say it", field=second, fix="give one of them"
        )
