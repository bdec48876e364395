"""Conditions on values that break a naive encoding give, compiled for Argo and for KFP, the
outcome ``dagwright run`` gives: ``1e-05`` (a constant and a value made at run time), strings
holding ``'``, ``"``, a backslash, ``{{``, date-like text, non-ASCII text, an int against a
float, a pipeline parameter holding quotes. Two values without a type are refused for both.

No Argo controller or KFP backend runs here. Argo's side runs under the stand-in
(``argo_controller``), which fills a ``when`` as Argo v4.1.2 does (``argo_expressions``:
``util/template``'s tags, expression tags run by an expr-lang model) and evaluates it with a
model of Knetic/govaluate (``govaluate_model``: ``parsing.go``, ``lexerState.go``,
``stagePlanner.go``, ``evaluationStage.go``, and Argo's ``shouldExecute`` in
``workflow/controller/operator.go``). KFP's side runs under ``kfp.local`` and is checked by
``kfp_backend_checks``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from argo_controller import ArgoControllerStandIn
from govaluate_lexer import GovaluateError
from govaluate_model import should_execute
from kfp_backend_checks import assert_runs_as_compiled
from kfp_corpus import note
from test_argo_controller import run_both

import dagwright
from dagwright import If, ParallelFor, component, pipeline
from dagwright.errors import ValidationError
from dagwright.verify.kfp_local import init

pytest.importorskip("hera")
ROOT = Path(__file__).resolve().parents[2]

# texts a pod makes at run time, each compared with the same text as a constant
TEXTS = {
    "quote": "it's",
    "dquote": 'say "hi"',
    "backslash": "C:\\temp\\",
    "braces": "{{workflow.name}}",
    "date": "2024-01-01",
    "cafe": "café ☕",
}
WORD = 'a "b" \\c\'d'  # a pipeline parameter's value


@component
def make(kind: str) -> str:
    """The text of one kind, made in the pod (so Argo never sees it in the spec)."""
    texts = {
        "quote": "it's",
        "dquote": 'say "hi"',
        "backslash": "C:\\temp\\",
        "braces": "{" + "{workflow.name}" + "}",
        "date": "2024-01-01",
        "cafe": "café ☕",
    }
    return texts[kind]


@component
def tiny(x: float) -> float:
    return x / 10


@component
def count(n: int) -> int:
    return n


@pipeline
def tricky(journal: str, word: str = WORD, small: float = 1e-05) -> None:
    """Each block that should run leaves a mark named after it; the others would too."""
    made = {}
    for kind, text in TEXTS.items():
        made[kind] = make(kind=kind).named(f"make-{kind}")
        with If(made[kind].output == text):
            note(journal=journal, text=f"{kind}-equal").named(f"{kind}-equal")
        with If(made[kind].output != text):
            note(journal=journal, text=f"{kind}-differs").named(f"{kind}-differs")
    with If(made["date"].output != "2024-01-01T00:00:00Z"):
        # govaluate would read both as the same time; as strings they differ
        note(journal=journal, text="date-not-a-time").named("date-not-a-time")
    with If(made["cafe"].output > "cafz"):
        note(journal=journal, text="cafe-after-cafz").named("cafe-after-cafz")
    t = tiny(x=small)  # 1e-06 at run time, written by the pod as 1e-06
    with If(t.output < 1e-05):
        note(journal=journal, text="tiny-below").named("tiny-below")
    with If(t.output > small):
        note(journal=journal, text="tiny-above").named("tiny-above")
    c = count(n=3)
    with If(c.output > 2.5):
        note(journal=journal, text="int-above-float").named("int-above-float")
    with If(c.output == 3.0):
        note(journal=journal, text="int-equals-float").named("int-equals-float")
    with If(word == WORD):
        note(journal=journal, text="word-equal").named("word-equal")


EXPECTED = sorted(
    [f"{kind}-equal" for kind in TEXTS]
    + ["date-not-a-time", "cafe-after-cafz", "tiny-below", "int-above-float"]
    + ["int-equals-float", "word-equal"]
)


def test_tricky_values_run_under_the_argo_stand_in_as_under_dagwright_run(
    tmp_path: Path,
) -> None:
    node, ours, theirs, mine = run_both(tricky, tmp_path)
    assert ours.succeeded and node.phase == "Succeeded"
    assert mine[1] == EXPECTED
    assert theirs == mine


def test_every_when_is_one_expression_tag_nothing_can_break(tmp_path: Path) -> None:
    """By construction: no run-time value is pasted into the text govaluate reads, and the
    expression holds nothing Argo's JSON round trip or tag scan could change (see
    dagwright/compiler/argo/when.py)."""
    manifest = yaml.safe_load(dagwright.compile(tricky, target="argo"))
    whens = [
        task["when"]
        for template in manifest["spec"]["templates"]
        for task in template.get("dag", {}).get("tasks", [])
        if "when" in task
    ]
    assert len(whens) == 19
    for when in whens:
        assert re.fullmatch(r"\{\{=[^{}\"\\?]+\}\}", when), when
    assert "float('1e-05')" in " ".join(whens)  # never 1e-05 bare
    assert "sprig.b64dec(" in " ".join(whens)  # texts outside the plain set


def _kfp_conditions(spec: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any], str]]:
    """Each root condition task: its CEL text, its inputs, and the one task inside it."""
    found = {}
    for name, task in spec["root"]["dag"]["tasks"].items():
        condition = task.get("triggerPolicy", {}).get("condition")
        if condition:
            inner = spec["components"][task["componentRef"]["name"]]["dag"]["tasks"]
            (only,) = inner
            found[name] = (condition, task["inputs"]["parameters"], only)
    return found


def test_tricky_values_give_on_kfp_backend_what_dagwright_run_gives(tmp_path: Path) -> None:
    """Each compiled condition, evaluated as KFP's driver evaluates it (cel_model: cel-go over
    ``google.protobuf.Value`` inputs) on the values dagwright run made, decides as dagwright
    run decided. No KFP backend runs here; kfp.local cannot show it (its ``eval`` of pasted
    values breaks on a quote or a backslash and knows no ``double``)."""
    from kfp_backend_checks import evaluate_condition

    text = dagwright.compile(tricky, target="kfp")
    assert_runs_as_compiled(text)
    spec = yaml.safe_load(text)
    journal = tmp_path / "journal"
    journal.mkdir()
    ours = dagwright.run(tricky, {"journal": str(journal)}, echo=False, root=tmp_path / "store")
    assert ours.succeeded and sorted(os.listdir(journal)) == EXPECTED
    params = {"journal": str(journal), "word": WORD, "small": 1e-05}
    conditions = _kfp_conditions(spec)
    assert len(conditions) == 19
    for name, (condition, inputs, inner) in conditions.items():
        values = {}
        for key, source in inputs.items():
            if "componentInputParameter" in source:
                values[key] = params[source["componentInputParameter"]]
            else:
                producer = source["taskOutputParameter"]
                step = ours.step(producer["producerTask"])
                assert step.outputs is not None
                values[key] = step.outputs[producer["outputParameterKey"].lower()]
        component = spec["components"][spec["root"]["dag"]["tasks"][name]["componentRef"]["name"]]
        types = {
            k: d["parameterType"] for k, d in component["inputDefinitions"]["parameters"].items()
        }
        assert evaluate_condition(condition, types, values) is (inner in EXPECTED), condition


@pipeline
def plain(journal: str, small: float = 1e-05) -> None:
    """The cases kfp.local's own evaluation can read: no quote, no backslash, no int."""
    cafe = make(kind="cafe")
    with If(cafe.output == "café ☕"):
        note(journal=journal, text="cafe-equal").named("cafe-equal")
    date = make(kind="date").named("make-date")
    with If(date.output != "2024-01-01T00:00:00Z"):
        note(journal=journal, text="date-not-a-time").named("date-not-a-time")
    t = tiny(x=small)
    with If(t.output < 1e-05):
        note(journal=journal, text="tiny-below").named("tiny-below")
    with If(t.output > small):
        note(journal=journal, text="tiny-above").named("tiny-above")


def test_plain_cases_run_on_kfp_local_as_under_dagwright_run(tmp_path: Path) -> None:
    pytest.importorskip("kfp.local")
    kfp_components = pytest.importorskip("kfp.components")
    spec = tmp_path / "plain.yaml"
    dagwright.compile(plain, target="kfp", path=spec)
    assert_runs_as_compiled(spec.read_text(encoding="utf-8"))
    init(tmp_path / "root")
    folders = {who: tmp_path / f"{who}-journal" for who in ("kfp", "ours")}
    for folder in folders.values():
        folder.mkdir()
    kfp_components.load_component_from_file(str(spec))(journal=str(folders["kfp"]))
    ours = dagwright.run(plain, {"journal": str(folders["ours"])}, echo=False, root=tmp_path)
    assert ours.succeeded
    expected = ["cafe-equal", "date-not-a-time", "tiny-below"]
    assert sorted(os.listdir(folders["kfp"])) == sorted(os.listdir(folders["ours"])) == expected


def test_backend_check_reports_what_cel_go_refuses_or_reads_otherwise() -> None:
    """``condition_problems``: a string compared with a number has no overload in CEL, and
    ``\\c`` is no CEL escape; ``evaluate_condition``: two STRING inputs compare as strings,
    which is why two untyped values are refused (backend/src/v2/expression)."""
    from kfp_backend_checks import condition_problems, evaluate_condition

    types = {"a": "STRING", "b": "STRING", "n": "NUMBER_INTEGER"}
    a, b, n = (f"inputs.parameter_values['{k}']" for k in "abn")
    assert condition_problems(f"{a} > 5", types) != []
    assert condition_problems(f"{n} > 5", types) != []  # a double against an int
    assert condition_problems(f'{a} == "C:\\c"', types) != []
    assert condition_problems(f'int({n}) > 5 && {a} != "x"', types) == []
    assert evaluate_condition(f"{a} > {b}", types, {"a": "10", "b": "9"}) is False
    assert evaluate_condition(f"int({n}) > 9", types, {"n": 10}) is True


@pipeline
def untyped_pair(journal: str) -> None:
    """Fields of untyped dict items: dagwright run compares 10 with 9 as numbers."""
    with ParallelFor([{"a": 10, "b": 9}]) as item:
        with If(item["a"] > item["b"]):
            note(journal=journal, text="ten-above-nine")


@pytest.mark.parametrize("target", ["argo", "kfp"])
def test_two_untyped_values_compared_are_refused_naming_the_block(
    target: str, tmp_path: Path
) -> None:
    """Both targets pass such values as text (Argo's ``{{item.a}}``, KFP's STRING input of an
    untyped value), so "10" > "9" would be false where dagwright run finds 10 > 9."""
    journal = tmp_path / "journal"
    journal.mkdir()
    assert dagwright.run(untyped_pair, {"journal": str(journal)}, echo=False, root=tmp_path)
    assert os.listdir(journal) == ["ten-above-nine"]
    with pytest.raises(ValidationError) as caught:
        dagwright.compile(untyped_pair, target=target, path=tmp_path / "spec.yaml")
    assert caught.value.field == "condition" and caught.value.block == "condition-1"
    assert "no type" in str(caught.value) and "annotate" in (caught.value.fix or "")
    assert not (tmp_path / "spec.yaml").exists()


def test_the_cli_refuses_two_untyped_values_with_exit_2(tmp_path: Path) -> None:
    source = tmp_path / "untyped.py"
    source.write_text(
        "from dagwright import If, ParallelFor, component, pipeline\n\n\n"
        "@component\ndef show(x: int) -> int:\n    return x\n\n\n"
        "@pipeline\ndef untyped() -> None:\n"
        "    with ParallelFor([{'a': 10, 'b': 9}]) as item:\n"
        "        with If(item['a'] > item['b']):\n"
        "            show(x=1)\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.yaml"
    for target in ("argo", "kfp"):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "dagwright.cli",
                "compile",
                str(source),
                "-t",
                target,
                "-o",
                str(out),
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join([os.environ["PYTHONPATH"], str(ROOT)]),
            },
        )
        assert proc.returncode == 2, proc.stderr
        assert "condition" in proc.stderr and "Traceback" not in proc.stderr
        assert not out.exists()


# --- the stand-in is as strict as govaluate ------------------------------------------------


def _manifest(when: str, value: str) -> dict[str, Any]:
    """A hand-written Workflow: ``produce`` writes ``value``, ``consume`` runs when ``when``."""
    write = (
        "import os, sys; os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True); "
        "open(sys.argv[1], 'w').write(sys.argv[2])"
    )
    return {
        "metadata": {"generateName": "hand-"},
        "spec": {
            "entrypoint": "main",
            "templates": [
                {
                    "name": "main",
                    "dag": {
                        "tasks": [
                            {"name": "produce", "template": "produce"},
                            {
                                "name": "consume",
                                "template": "consume",
                                "dependencies": ["produce"],
                                "when": when,
                            },
                        ]
                    },
                },
                {
                    "name": "produce",
                    "container": {
                        "image": "python:3.11-slim",
                        "command": ["python3", "-c", write],
                        "args": ["{{outputs.parameters.v.path}}", value],
                    },
                    "outputs": {"parameters": [{"name": "v", "valueFrom": {"path": "/tmp/v"}}]},
                },
                {
                    "name": "consume",
                    "container": {"image": "python:3.11-slim", "command": ["python3", "-c", ""]},
                },
            ],
        },
    }


def test_stand_in_fails_a_hand_written_when_on_1e_05_like_govaluate(tmp_path: Path) -> None:
    """govaluate's lexer (parsing.go ``readToken``: a number is digits and dots) reads
    ``1e-05`` as ``1``, ``e``, ``-``, ``05``; ``checkExpressionSyntax`` (lexerState.go) refuses
    a VARIABLE after a NUMERIC, and Argo's ``shouldExecute`` errors the node."""
    stand_in = ArgoControllerStandIn(
        _manifest("{{tasks.produce.outputs.parameters.v}} < 1e-05", "0.5"), tmp_path
    )
    assert stand_in.run().phase == "Failed"
    assert stand_in.ran == ["produce"]
    assert "Cannot transition token types from NUMERIC [1] to VARIABLE [e]" in stand_in.errors[0]


@pytest.mark.parametrize(("value", "runs"), [("0.5", False), ("1e-06", True)])
def test_stand_in_runs_the_expression_tag_form_of_the_same_when(
    value: str, runs: bool, tmp_path: Path
) -> None:
    """The same condition as an expression tag (util/template/expression_template.go): the
    value is a variable of expr-lang's environment, ``float`` is Go's ``strconv.ParseFloat``."""
    when = "{{=float(tasks.produce.outputs.parameters.v) < float('1e-05')}}"
    stand_in = ArgoControllerStandIn(_manifest(when, value), tmp_path)
    assert stand_in.run().phase == "Succeeded"
    assert stand_in.ran == ["produce", "consume"][: 2 if runs else 1]


def test_stand_in_fails_a_value_that_breaks_the_quotes_around_it(tmp_path: Path) -> None:
    """Quoting a run-time value (the old encoding) breaks on a value holding a quote: govaluate
    ends a string at the next ``'`` or ``"`` (parsing.go ``isNotQuote``)."""
    when = "'{{tasks.produce.outputs.parameters.v}}' == 'x'"
    stand_in = ArgoControllerStandIn(_manifest(when, "it's"), tmp_path)
    assert stand_in.run().phase == "Failed"
    assert "Unclosed string literal" in stand_in.errors[0]


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        ("0.5 < 1e-05", "Cannot transition token types from NUMERIC [1] to VARIABLE [e]"),
        ("'it's' == 'x'", "Unclosed string literal"),
        ("'say \"hi\"' == 'x'", "Cannot transition token types from STRING [say ] to VARIABLE"),
        ("'a\\' == 'a'", "Unclosed string literal"),  # the backslash escapes the quote
        ("'2024-01-01' < 'b'", "cannot be used with the comparator '<', it is not a number"),
        ("1 == 1 &&", "Unexpected end of expression"),
        ("(1 == 1", "Unbalanced parenthesis"),
        ("1 == 1 ; 2", "Invalid token: ';'"),
        ("a.b == 'x'", "Unable to access unexported field 'b'"),
        ("1 + 1", "Expected boolean evaluation"),
        ("{{=1 == 1}}", "Invalid token"),  # an expression tag Argo left unresolved
    ],
)
def test_govaluate_model_refuses_what_govaluate_refuses(expression: str, error: str) -> None:
    """parsing.go (``readToken``, ``readUntilFalse``: backslash escapes, either quote ends a
    string), lexerState.go (``checkExpressionSyntax``), evaluationStage.go
    (``comparatorTypeCheck``), operator.go ``shouldExecute`` (a bool or an error)."""
    with pytest.raises(GovaluateError, match=re.escape(error)):
        should_execute(expression)


@pytest.mark.parametrize(
    ("expression", "result"),
    [
        ("foo == foo", True),  # Argo turns variables into strings
        ("foo != bar", True),
        ("'2024-01-01' == '2024-01-01T00:00:00Z'", True),  # both parsed as the same time
        ("'2024-01-01' == '2024-01-01 00:00'", True),
        ("'2024-02-30' == '2024-02-30'", True),  # no such day: compared as strings
        ("'a\\'b' == 'a\\'b'", True),
        ("3 == '3'", False),  # reflect.DeepEqual: a number is never a string
        ("'10' > '9'", False),  # strings compare by bytes
        ("10 > 9", True),
        ("!(1 > 2) && (3 >= 3)", True),
        ("false && 'x' > 1", False),  # && short-circuits before the type check
        ("'café' > 'cafz'", True),
        ("-1 < -0.5", True),
        ("1 in (1, 2)", True),
        ("0x10 == 16", True),
    ],
)
def test_govaluate_model_reads_what_govaluate_reads(expression: str, result: bool) -> None:
    """parsing.go (``tryParseTime``'s layouts; hex numbers), stagePlanner.go (a TIME literal
    is ``float64(t.Unix())``; precedence), evaluationStage.go (``equalStage`` is
    ``reflect.DeepEqual``, ``gtStage`` compares strings or numbers, ``inStage``)."""
    assert should_execute(expression) is result


# --- many values through the encoding, without pods ----------------------------------------

STRINGS = [
    "it's",
    'say "hi"',
    "C:\\temp\\",
    "{{workflow.name}}",
    "2024-01-01",
    "café ☕",
    "",
    " a ",
]


@component
def mark() -> None:
    pass


@pipeline
def compared(
    s: str = "", x: float = 0.0, n: int = 0, b: bool = False, o: int | None = None
) -> None:
    for i, text in enumerate(STRINGS):
        with If(s == text):
            mark().named(f"s-eq-{i}")
        with If(s < text):
            mark().named(f"s-lt-{i}")
    for i, number in enumerate([1e-05, 0.1, -1e-300, 1e300, 3]):
        with If(x < number):
            mark().named(f"x-lt-{i}")
        with If(x == number):
            mark().named(f"x-eq-{i}")
    for i, number in enumerate([2.5, 3, 2**53 + 1, -(2**63)]):
        with If(n > number):
            mark().named(f"n-gt-{i}")
        with If(n == number):
            mark().named(f"n-eq-{i}")
    with If(b == True):  # noqa: E712 (a pipeline condition, not a Python comparison)
        mark().named("b-true")
    with If(o == None):  # noqa: E711
        mark().named("o-none")
    with If(o != None):  # noqa: E711
        mark().named("o-some")


ARGUMENTS = (
    [{"s": text} for text in STRINGS + ["2024-01-01T00:00:00Z", "10", "9", "z"]]
    + [{"x": value} for value in [1e-06, 1e-05, 0.1, -5.0, 1e300, 3.0, float("nan"), 2e-300]]
    + [{"n": value} for value in [3, 2, 2**53 + 1, 2**53, -(2**63), 10]]
    + [{"b": True}, {"b": False}, {"o": None}, {"o": 3}]
)


@pytest.mark.parametrize("arguments", ARGUMENTS, ids=repr)
def test_every_when_decides_as_dagwright_run_decides(arguments: dict[str, Any]) -> None:
    """Each compiled ``when``, filled with the argument's text (as ``argo submit -p`` and the
    pod's ``encode`` give it) and evaluated by the expression and govaluate models, decides
    what dagwright's own evaluation of the IR condition decides for that value."""
    from argo_expressions import when_holds

    from dagwright.compiler.argo.entry import encode
    from dagwright.engine.conditions import evaluate

    ir = dagwright.api.to_ir(compared)
    manifest = yaml.safe_load(dagwright.compile(ir, target="argo"))
    values = {**{"s": "", "x": 0.0, "n": 0, "b": False, "o": None}, **arguments}
    texts = {f"workflow.parameters.{k}": encode(v) for k, v in values.items()}
    tasks = {t["name"]: t for t in manifest["spec"]["templates"][0]["dag"]["tasks"]}
    groups = [g for g in ir.groups if g.kind == "condition"]
    assert len(groups) == 2 * len(STRINGS) + 10 + 8 + 3
    for group in groups:
        assert group.condition is not None
        ours = evaluate(
            group.condition, lambda v: v["constant"] if "constant" in v else values[v["param"]]
        )
        when = tasks[group.id]["when"]
        assert when_holds(when, lambda tag: pytest.fail(f"plain tag {tag}"), texts) is ours, when


# -- loop items are compared as Argo renders them (JSON escapes kept) ----------------------
# Argo fills {{item}} / {{item.k}} with the item's JSON, a string's quotes cut off and its
# escapes kept (workflow/controller/operator.go processItem, pkg/apis/workflow/v1alpha1/item.go
# Item.String, util/json Fix): the stand-in's argo_values.item_string models it.
ITEM_TEXTS = ['q"x', "cafe", "a<b&c>", "back\\slash", "tab\there", "café ☕", "{{x}}", "line\u2028"]


@component
def texts() -> list[str]:
    return [*ITEM_TEXTS[:6], "{" + "{x}}", ITEM_TEXTS[7]]


@pipeline
def item_strings(journal: str) -> None:
    """Each item equal to a constant leaves a mark; literal items, dict fields and withParam."""
    with ParallelFor(ITEM_TEXTS) as s:
        for i, text in enumerate(ITEM_TEXTS):
            with If(s == text):
                note(journal=journal, text=f"literal-{i}").named(f"literal-{i}")
        with If(s != 'q"x'):
            note(journal=journal, text="not-q").named("not-q")
    with ParallelFor([{"k": text} for text in ITEM_TEXTS]) as it:
        with If(it["k"] == 'q"x'):
            note(journal=journal, text="field-q").named("field-q")
        with If(it["k"] == "a<b&c>"):
            note(journal=journal, text="field-lt").named("field-lt")
    with ParallelFor(texts().output) as p:
        for i, text in enumerate(ITEM_TEXTS):
            with If(p == text):
                note(journal=journal, text=f"param-{i}").named(f"param-{i}")
    with ParallelFor([{"a": 'q"x', "b": 'q"x'}, {"a": "x", "b": 'q"x'}]) as two:
        with If(two["a"] == two["b"]):
            note(journal=journal, text="two-items-equal").named("two-items-equal")


def test_item_strings_compare_under_the_argo_stand_in_as_under_dagwright_run(
    tmp_path: Path,
) -> None:
    """``q"x`` reaches the ``when`` as ``q\\"x``: before the fix every item holding a quote,
    a backslash, a tab or U+2028 compared unequal on Argo (silently) and ``!=`` held."""
    node, ours, theirs, mine = run_both(item_strings, tmp_path)
    assert ours.succeeded and node.phase == "Succeeded"
    n = len(ITEM_TEXTS)
    expected = sorted(
        [f"literal-{i}" for i in range(n)]
        + [f"param-{i}" for i in range(n)]
        + ["not-q", "field-q", "field-lt", "two-items-equal"]
    )
    assert sorted(mine[1]) == expected
    assert sorted(theirs[1]) == sorted(mine[1])


@pipeline
def ordered_item(journal: str) -> None:
    with ParallelFor(['a"b', "c"]) as s:
        with If(s < "b"):
            note(journal=journal, text="before-b")


@component
def word() -> str:
    return "b{{x}}"


@pipeline
def plain_items(journal: str) -> None:
    """Literal items with nothing to escape reach the when as they are: ordered, and compared
    with a task's output."""
    made = word()
    with ParallelFor(["a", "c<d", "b{{x}}", "café"]) as s:
        with If(s < "b"):
            note(journal=journal, text="before-b").named("before-b")
        with If(s == made.output):
            note(journal=journal, text="made").named("made")
        with If(s > "cafd"):
            note(journal=journal, text="after-cafd").named("after-cafd")


def test_plain_literal_items_order_and_meet_outputs_as_under_dagwright_run(
    tmp_path: Path,
) -> None:
    node, ours, theirs, mine = run_both(plain_items, tmp_path)
    assert ours.succeeded and node.phase == "Succeeded"
    assert sorted(mine[1]) == ["after-cafd", "before-b", "made"]
    assert sorted(theirs[1]) == sorted(mine[1])


@component
def quoted() -> list[str]:
    return ["a"]


@pipeline
def item_against_output(journal: str) -> None:
    made = word()
    with ParallelFor(quoted().output) as s:
        with If(s == made.output):
            note(journal=journal, text="made")


def test_an_item_that_may_be_escaped_against_an_output_is_refused(tmp_path: Path) -> None:
    """A withParam item's text is escaped (``\\"``), the output's is not: no exact compare."""
    with pytest.raises(ValidationError) as caught:
        dagwright.compile(item_against_output, target="argo", path=tmp_path / "spec.yaml")
    assert caught.value.field == "condition" and caught.value.block == "condition-1"
    assert "escapes" in str(caught.value) and "constant" in (caught.value.fix or "")
    assert not (tmp_path / "spec.yaml").exists()


def test_ordering_an_item_string_is_refused_naming_the_block(tmp_path: Path) -> None:
    """``a"b`` < ``a#`` as text, but its rendering ``a\\"b`` is not: escapes reorder."""
    with pytest.raises(ValidationError) as caught:
        dagwright.compile(ordered_item, target="argo", path=tmp_path / "spec.yaml")
    assert caught.value.field == "condition" and caught.value.block == "condition-1"
    assert "escapes" in str(caught.value) and "==" in (caught.value.fix or "")
    assert not (tmp_path / "spec.yaml").exists()


# -- values the pod writes as text -------------------------------------------------------
@component
def five() -> list:  # type: ignore[type-arg]
    return [5]


@pipeline
def untyped_against_text(journal: str) -> None:
    with ParallelFor(five().output) as x:
        with If(x == "5"):
            note(journal=journal, text="five")


@pipeline
def literal_number_against_text(journal: str) -> None:
    with ParallelFor([5, "5"]) as x:
        with If(x == "5"):
            note(journal=journal, text="five")


@pytest.mark.parametrize("target", ["argo", "kfp"])
@pytest.mark.parametrize(
    ("built", "marks"), [(untyped_against_text, []), (literal_number_against_text, ["five"])]
)
def test_an_untyped_value_compared_with_a_string_is_refused_naming_the_block(
    built: Any, marks: list[str], target: str, tmp_path: Path
) -> None:
    """Argo hands 5 on as the text ``5``, equal to "5", and KFP converts it to the STRING input
    the condition reads (``normalizeResolvedParameterValue`` in the driver's
    resolver/parameters.go); dagwright run finds 5 != "5"."""
    journal = tmp_path / "journal"
    journal.mkdir()
    assert dagwright.run(built, {"journal": str(journal)}, echo=False, root=tmp_path)
    assert sorted(os.listdir(journal)) == marks  # the str item "5" only
    with pytest.raises(ValidationError) as caught:
        dagwright.compile(built, target=target, path=tmp_path / "spec.yaml")
    assert caught.value.field == "condition" and caught.value.block == "condition-1"
    assert "no type" in str(caught.value) and "annotate" in (caught.value.fix or "")
    assert not (tmp_path / "spec.yaml").exists()


@component
def say(text: str) -> str:
    return text


@component
def maybe(text: str) -> str | None:
    return None if text == "-" else text


@pipeline
def none_texts(journal: str) -> None:
    """Texts that read like None are strings, never None; only a real None is."""
    for i, text in enumerate(["None", "null", " null ", "-"]):
        s = say(text=text).named(f"say-{i}")
        with If(s.output == None):  # noqa: E711
            note(journal=journal, text=f"str-none-{i}").named(f"str-none-{i}")
        with If(s.output != None):  # noqa: E711
            note(journal=journal, text=f"str-some-{i}").named(f"str-some-{i}")
        m = maybe(text=text).named(f"maybe-{i}")
        with If(m.output == None):  # noqa: E711
            note(journal=journal, text=f"opt-none-{i}").named(f"opt-none-{i}")
        with If(m.output == text):
            note(journal=journal, text=f"opt-text-{i}").named(f"opt-text-{i}")


def test_text_that_reads_like_none_is_no_none_under_the_argo_stand_in(tmp_path: Path) -> None:
    """Before the fix a str output "None" or "null" met ``== None`` on Argo (the when read
    ``trim(x) in ['null', 'None']``) where dagwright run found a string."""
    node, ours, theirs, mine = run_both(none_texts, tmp_path)
    assert ours.succeeded and node.phase == "Succeeded"
    expected = sorted(
        [f"str-some-{i}" for i in range(4)]
        + ["opt-text-0", "opt-text-1", "opt-text-2", "opt-none-3"]
    )
    assert sorted(mine[1]) == expected
    assert sorted(theirs[1]) == sorted(mine[1])
