"""The option blocks more than one ``dagwright`` command takes, each defined once, and the
target names the commands offer.

An option here is a click decorator; a block (``target_options``, ``remote_options``) is one
decorator that adds several, in the order ``--help`` lists them. The target names and the
options only one target reads come from the targets (``dagwright.targets``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from dagwright.targets import Target

Decorator = Callable[[Callable[..., None]], Callable[..., None]]


def target_names() -> tuple[str, ...]:
    """The targets ``dagwright compile`` writes: every registered one (``dagwright.targets``)."""
    from dagwright import targets

    return tuple(targets.names())


def sends_to() -> tuple[str, ...]:
    """The targets ``submit`` and ``schedule add`` send a pipeline to: those with a client."""
    return tuple(name for name, target in _loaded() if target.client)


def deletes_from() -> tuple[str, ...]:
    """The targets ``delete`` removes from: those whose client keeps what it was sent."""
    return tuple(name for name, target in _loaded() if target.client and target.client.delete)


@functools.cache
def _loaded() -> tuple[tuple[str, Target], ...]:
    """Every registered target that loads, once per process (the installed ones do not change
    while a command runs); one that does not load is named when it is asked for."""
    from dagwright import targets
    from dagwright.errors import ValidationError

    found = []
    for name in targets.names():
        try:
            found.append((name, targets.get(name)))
        except ValidationError:
            continue
    return tuple(found)


def only_for() -> dict[str, tuple[str, ...]]:
    """The submit and schedule options only some targets read, by parameter name, with the
    names of the targets that read them (installed targets may share a flag, ``--folder``):
    given with any other target, they are refused, not ignored."""
    found: dict[str, tuple[str, ...]] = {}
    for name, target in _loaded():
        for key in target.cli.remote:
            found[key] = (*found.get(key, ()), name)
    return found


def command_compile_options(options: dict[str, Any]) -> None:
    """What the targets' own ``dagwright compile`` options hold, as compile keywords (each
    target's ``CliOptions.compile_keywords``), in place."""
    for _, target in _loaded():
        if target.cli.compile_keywords is not None:
            target.cli.compile_keywords(options)


def check_policy_options(
    concurrency: str | None, catchup: str | None, options: dict[str, Any]
) -> None:
    """Refuse ``schedule add``'s local policies given with a target's own option for the same
    thing (each target's ``CliOptions.check_schedule``), whichever target was chosen: the
    two say it twice however the target reads them."""
    for _, target in _loaded():
        if target.cli.check_schedule is not None:
            target.cli.check_schedule(concurrency, catchup, options)


def own_options(where: str, mine: dict[str, Decorator] | None = None) -> Decorator:
    """The options only some targets read, as each target declares them (``CliOptions.flags``:
    ``"compile"``, ``"send"`` or ``"schedule"``...), in the registry's order, each name once:
    targets that share a flag share the option, offered as the first of them declares it.

    A target whose options cannot be made is left out here, so that one broken installed
    target does not take every command down; using it names the problem.

    Args:
        where: Which of a target's options.
        mine: Options the command defines itself, by parameter name, listed where a target
            lists its option of that name (else last) in its place (``schedule add``'s
            ``--timezone``, which local schedules read too).
    """
    mine = mine or {}
    chosen: list[Decorator] = []
    seen: set[str] = set()
    for _, target in _loaded():
        try:
            options = list(target.cli.flags(where)) if target.cli.flags else []
        except Exception:  # someone else's code: see the docstring
            continue
        for option in options:
            name = flag_name(option)
            if name not in seen:
                seen.add(name)
                chosen.append(mine.get(name, option))
    chosen.extend(option for name, option in mine.items() if name not in seen)
    return option_block(*chosen)


def flag_name(option: Any) -> str:
    """The parameter name of a click option decorator (``--max-concurrency``:
    ``max_concurrency``)."""
    return str(option(lambda: None).__click_params__[-1].name)


def listed(words: Sequence[str]) -> str:
    """Words as a sentence lists them: ``ir, kfp or argo``."""
    if len(words) < 2:
        return "".join(words)
    return f"{', '.join(words[:-1])} or {words[-1]}"


def option_block(*options: Decorator) -> Decorator:
    """One decorator that adds ``options`` to a command, the first one first in ``--help``."""

    def add(command: Callable[..., None]) -> Callable[..., None]:
        for option in reversed(options):
            command = option(command)
        return command

    return add


# the store folder, the same option on every command that reads or writes a store
ROOT = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Store folder (default: $DAGWRIGHT_HOME or ./.dagwright).",
)
JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def html_option(help: str) -> Decorator:
    """``--html OUT``: a self-contained HTML file (``ui/report.py``) written to OUT."""
    return click.option(
        "--html",
        "html_out",
        type=click.Path(path_type=Path),
        default=None,
        metavar="OUT",
        help=help,
    )


PARAMS = click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A pipeline parameter; repeat for several.",
)


def output(help_text: str = "File to write; standard output when left out.") -> Decorator:
    """``-o/--output FILE``: where a command writes what it would print."""
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help=help_text,
    )


# options of cluster targets, shared by compile, submit and schedule, in two blocks: how pods
# get their code, then what they do with it; the targets' own compile options go before,
# between ("delivery": KFP's --pipeline-root) or after them, as --help has always listed them
delivery_options = option_block(
    click.option(
        "--code",
        type=click.Choice(["inline", "image"]),
        default=None,
        help="How steps get their code: the source inside the spec (inline, default) or "
        "an image that holds the project (image).",
    ),
    click.option("--image", default=None, help="Image for steps that name none."),
    click.option("--index-url", default=None, help="pip index that pods install from."),
    click.option(
        "--dagwright",
        "dagwright_requirement",
        default=None,
        help="Requirement pods install dagwright from (a pin, a wheel URL). Default: "
        "dagwright==<this version>, allowed only for a release installed from an index.",
    ),
)
pod_options = option_block(
    click.option(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URI the pods record lineage to (default: none).",
    ),
    click.option(
        "--strict",
        is_flag=True,
        help="Fail instead of warning when the spec is too large, or when the pods would "
        "install a dagwright other than this one (not a release from an index).",
    ),
    click.option(
        "--allow-pickle",
        is_flag=True,
        help="Let pods unpickle (joblib) artifacts; that runs code from the artifact store.",
    ),
)


def target_options(command: Callable[..., None]) -> Callable[..., None]:
    """The cluster targets' options of every command that compiles: the shared ones and the
    targets' own ``"delivery"`` ones between them."""
    # the targets are read when a command applies it, not when this module loads: `run`
    # imports this module and needs no target
    return option_block(delivery_options, own_options("delivery"), pod_options)(command)


def own_compile_options(command: Callable[..., None]) -> Callable[..., None]:
    """The compile options only one target takes, from the targets themselves."""
    return own_options("compile")(command)


def compile_options(values: dict[str, Any]) -> dict[str, Any]:
    """The target options given on the command line, as ``compile_ir`` takes them."""
    renamed = {"dagwright_requirement": "dagwright"}
    return {renamed.get(k, k): v for k, v in values.items() if v not in (None, False)}


# where a cluster is and as whom: submit, schedule add and the runs commands' --target
HOST = click.option(
    "--host",
    default=None,
    help="KFP API endpoint, e.g. http://localhost:8080 (default: "
    "$KF_PIPELINES_ENDPOINT, else found through the kube config); or argo-server URL, "
    "e.g. https://localhost:2746 (default: $ARGO_SERVER).",
)
TOKEN = click.option(
    "--token",
    default=None,
    help="Bearer token (default: $KFP_TOKEN or $ARGO_TOKEN); without one, KFP uses "
    "existing kube credentials.",
)
# the runs commands: a cluster's runs instead of the store's; the target names are not listed
# here, as reading the registry would load the targets for every `runs` command
cluster_options = option_block(
    click.option(
        "--target",
        "to",
        default=None,
        metavar="NAME",
        help="A cluster target (kfp, argo): its runs instead of the store's.",
    ),
    HOST,
    click.option(
        "--namespace",
        default=None,
        help="With --target: Kubernetes namespace (multi-user KFP; Argo: default $ARGO_NAMESPACE).",
    ),
    TOKEN,
    click.option(
        "--insecure",
        is_flag=True,
        help="With --target argo: do not check the server's TLS certificate (self-signed).",
    ),
)


def remote_options(
    default: str | None = None,
    where: str | None = None,
    mine: dict[str, Decorator] | None = None,
) -> Decorator:
    """Options shared by submit and schedule add: where to send, as whom, with what arguments,
    and the cluster targets' compile options.

    Args:
        default: The ``--target`` when none is given (default: the first target that sends,
            kfp).
        where: The targets the command takes, for ``--target``'s help (default: those that
            send).
        mine: Compile options the command defines itself (see ``own_options``).
    """
    default = default or sends_to()[0]
    where = where or listed(sends_to())
    return option_block(
        own_options("compile", mine) if mine else own_compile_options,
        target_options,
        click.option(
            "-t",
            "--target",
            "to",
            default=default,
            show_default=True,
            help=f"Where to send it: {where}.",
        ),
        HOST,
        click.option(
            "--namespace",
            default=None,
            help="Kubernetes namespace (multi-user KFP; Argo: default the manifest's, else "
            "$ARGO_NAMESPACE).",
        ),
        TOKEN,
        own_options("send"),
        PARAMS,
    )
