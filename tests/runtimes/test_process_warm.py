"""Process() steps forked from the warm server (dagwright/runtimes/warm.py, fork_server.py):
each step its own process, group and output; timeouts, crashes and kills end only that step
and the server serves the next; Ctrl-C leaves nothing behind; a changed module never runs old
code; Process(fresh=True) and python= still start a new interpreter."""

from __future__ import annotations

import importlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from terminal_pty import REPO, pid_alive, read_pids, spawn, wait_gone, write_pipeline

from dagwright import component, pipeline
from dagwright.errors import ValidationError
from dagwright.pipelines.ir import PipelineIR
from dagwright.runtimes import Process, warm
from dagwright.runtimes.registry import config_from_dict

pytestmark = pytest.mark.integration


@component(runtime=Process())
def whoami(word: str) -> list:
    import os
    import sys

    print(f"out {word}")
    print(f"err {word}", file=sys.stderr)
    return [os.getpid(), os.getppid()]


def test_each_step_is_its_own_process_forked_from_one_server(run: Any) -> None:
    @pipeline
    def p() -> None:
        whoami(word="alpha")
        whoami(word="beta")

    result = run(p, parallelism=2)
    (a_pid, a_parent), (b_pid, b_parent) = (
        result.step(t).outputs["output"] for t in ("whoami", "whoami-2")
    )
    assert len({a_pid, b_pid, os.getpid()}) == 3
    assert a_parent == b_parent != os.getpid()  # forked by the server, not started by the engine
    assert warm.running() == [a_parent]
    assert (result.step("whoami").stdout, result.step("whoami").stderr) == (
        "out alpha\n",
        "err alpha\n",
    )
    assert result.step("whoami-2").stdout == "out beta\n"
    again = run(p).step("whoami").outputs["output"]
    assert again[1] == a_parent and again[0] not in (a_pid, b_pid)  # a later run: same server


@component(runtime=Process(), timeout=2)
def hangs_with_a_child(pidfile: str) -> None:
    import os
    import subprocess
    import time

    child = subprocess.Popen(["sleep", "60"])
    with open(pidfile + ".tmp", "w") as out:
        out.write(f"{os.getpid()} {os.getppid()} {child.pid}")
    os.replace(pidfile + ".tmp", pidfile)
    time.sleep(60)


def test_a_timeout_kills_the_step_and_its_child_and_the_server_serves_on(
    run: Any, tmp_path: Path, pids: list[int]
) -> None:
    @pipeline
    def hanging(pidfile: str) -> None:
        hangs_with_a_child(pidfile=pidfile)

    @pipeline
    def after() -> list:
        return whoami(word="next").output

    pidfile = tmp_path / "tree"
    result = run(hanging, pidfile=str(pidfile))
    step, server, child = read_pids(pidfile)
    pids.extend([step, child])
    record = result.step("hangs-with-a-child")
    assert record.status == "failed"
    assert "TimeoutError: step 'hangs-with-a-child' did not finish within 2 s" in record.error
    assert wait_gone(step) and wait_gone(child), "the step or its child outlived the timeout"
    assert pid_alive(server)
    assert run(after).outputs["output"][1] == server


@component(runtime=Process())
def exits() -> None:
    import os

    os._exit(3)


@component(runtime=Process())
def killed() -> None:
    import os
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


@component(runtime=Process())
def segfaults() -> None:
    import ctypes

    ctypes.string_at(0)


CRASHES = {
    "os-exit": (exits, "the executor exited with code 3 and no result"),
    "sigkill": (killed, "the executor exited with code -9 and no result"),
    "segfault": (segfaults, "the executor exited with code -11 and no result"),
}


@pytest.mark.parametrize("how", list(CRASHES))
def test_a_step_that_dies_fails_alone_and_the_server_serves_on(run: Any, how: str) -> None:
    dies, error = CRASHES[how]

    @pipeline
    def p() -> None:
        dies()
        whoami(word="bystander")

    result = run(p, parallelism=2, keep_going=True)
    task = dies.spec.name
    assert result.step(task).error == error
    first = result.step("whoami").outputs["output"]
    assert result.step("whoami").status == "succeeded"
    later = run(p, keep_going=True)
    assert later.step(task).error == error
    assert later.step("whoami").outputs["output"][1] == first[1]  # the same server


def test_a_server_killed_between_runs_is_replaced(run: Any) -> None:
    @pipeline
    def p() -> list:
        return whoami(word="x").output

    first = run(p).outputs["output"][1]
    os.kill(first, signal.SIGKILL)
    assert wait_gone(first)
    second = run(p).outputs["output"][1]
    assert second != first and warm.running() == [second]


@component(runtime=Process())
def waits_for_its_server_to_die(pidfile: str) -> int:
    import os
    import time

    server = os.getppid()
    with open(pidfile + ".tmp", "w") as out:
        out.write(f"{os.getpid()} {server}")
    os.replace(pidfile + ".tmp", pidfile)
    deadline = time.monotonic() + 60
    while os.getppid() == server and time.monotonic() < deadline:  # orphaned when it died
        time.sleep(0.05)
    return os.getpid()


def test_a_server_killed_under_a_running_step_lets_it_finish(
    run: Any, tmp_path: Path, pids: list[int]
) -> None:
    # the step leads a session of its own: its server's death is no reason to fail it (this
    # test asserted the step failed and was killed, before the engine waited on its pidfd)
    import threading

    @pipeline
    def p(pidfile: str) -> int:
        return waits_for_its_server_to_die(pidfile=pidfile).output

    pidfile = tmp_path / "pids"

    def kill_the_server() -> None:
        step, server = read_pids(pidfile)
        pids.append(step)
        os.kill(server, signal.SIGKILL)

    killer = threading.Thread(target=kill_the_server)
    killer.start()
    result = run(p, pidfile=str(pidfile))
    killer.join()
    record = result.step("waits-for-its-server-to-die")
    assert record.status == "succeeded", record.error
    assert result.outputs["output"] == pids[0]
    assert wait_gone(pids[0]), "the step outlived the run"
    assert run(whoami_pipeline()).outputs["output"][1] in warm.running()  # a new server


@component(runtime=Process(fresh=True))
def parent_fresh() -> int:
    import os

    return os.getppid()


@component(runtime=Process(python=sys.executable))
def parent_python() -> int:
    import os

    return os.getppid()


@component(runtime=Process())
def parent_warm() -> int:
    import os

    return os.getppid()


def test_fresh_and_python_start_a_new_interpreter(run: Any) -> None:
    @pipeline
    def p() -> None:
        parent_fresh()
        parent_python()
        parent_warm()

    result = run(p)
    assert result.step("parent-fresh").outputs["output"] == os.getpid()
    assert result.step("parent-python").outputs["output"] == os.getpid()
    assert result.step("parent-warm").outputs["output"] in warm.running()
    assert os.getpid() not in warm.running()


@component(runtime=Process(), env={"WARM_STEP_VAR": "from the component"})
def reads_env() -> list:
    import os

    return [os.environ.get("WARM_STEP_VAR"), os.environ.get("WARM_ENGINE_VAR")]


def test_the_step_gets_the_engines_current_env_and_its_own(
    run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    @pipeline
    def started() -> list:
        return whoami(word="start").output

    @pipeline
    def p() -> list:
        return reads_env().output

    server = run(started).outputs["output"][1]
    monkeypatch.setenv("WARM_ENGINE_VAR", "set after the server started")
    assert run(p).outputs["output"] == ["from the component", "set after the server started"]
    assert warm.running() == [server]


STEPS = """
import {helper}
from dagwright import component, pipeline
from dagwright.runtimes import Process

SUFFIX = "{suffix}"


@component(runtime=Process())
def which() -> str:
    import os

    return {body} + "/" + str(os.getppid())


@pipeline
def p() -> str:
    return which().output
"""


@pytest.fixture
def user_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder of the user's modules on the import path, forgotten afterwards."""
    folder = tmp_path / "project"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    for name in (
        "warm_steps",
        "warm_helper",
        "warm_hangs",
        "warm_slow",
        "warm_threads",
        "warm_fails",
    ):
        sys.modules.pop(name, None)


def test_a_module_changed_between_runs_never_runs_old_code(run: Any, user_modules: Path) -> None:
    helper, steps = user_modules / "warm_helper.py", user_modules / "warm_steps.py"

    def write(value: str, suffix: str, body: str = "warm_helper.value() + SUFFIX") -> Any:
        helper.write_text(f"def value():\n    return {value!r}\n")
        steps.write_text(STEPS.format(helper="warm_helper", suffix=suffix, body=body))
        importlib.invalidate_caches()
        for name in ("warm_helper", "warm_steps"):  # as a notebook user reloads them
            if name in sys.modules:
                importlib.reload(sys.modules[name])
        return importlib.import_module("warm_steps").p

    def outcome(p: Any) -> tuple[str, int]:
        value, _, server = run(p).outputs["output"].rpartition("/")
        return value, int(server)

    first = write("v1", "-a")
    value, server = outcome(first)
    assert value == "v1-a"
    assert outcome(first) == (value, server)  # nothing changed: the same server
    # a helper the component calls, then a module global: the component's text (its digest)
    # is the same, so only the server knowing its files changed keeps the old ones from running
    value, newer = outcome(write("v22", "-a"))
    assert value == "v22-a" and newer != server
    assert outcome(write("v22", "-bb"))[0] == "v22-bb"
    assert outcome(write("v22", "-bb", body='"rewritten"'))[0] == "rewritten"


def test_fresh_is_checked_and_kept_out_of_the_spec_unless_set() -> None:
    with pytest.raises(ValidationError) as caught:
        Process(fresh="yes")  # type: ignore[arg-type]
    assert caught.value.field == "runtime.fresh"
    assert "fresh=True" in caught.value.fix
    assert Process().to_dict() == {"kind": "process", "python": None}
    assert Process(fresh=True).to_dict() == {"kind": "process", "python": None, "fresh": True}
    assert config_from_dict(Process(fresh=True).to_dict()) == Process(fresh=True)

    @pipeline
    def p() -> None:
        parent_fresh()
        parent_warm()

    ir = p.ir
    assert PipelineIR.from_dict(ir.to_dict()).to_dict() == ir.to_dict()
    runtimes = {c.name: c.runtime for c in ir.components.values()}
    assert runtimes == {"parent-fresh": Process(fresh=True), "parent-warm": Process()}


INTERRUPTED = """
@component(runtime=Process())
def sleeper(pidfile: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    with open(pidfile + ".tmp", "w") as out:
        out.write(f"{os.getpid()} {os.getppid()} {child.pid}")
    os.replace(pidfile + ".tmp", pidfile)
    time.sleep(120)


@pipeline
def interrupted(pidfile: str) -> None:
    sleeper(pidfile=pidfile)
"""


def test_ctrl_c_on_dagwright_run_leaves_no_process_behind(tmp_path: Path, pids: list[int]) -> None:
    home, pidfile, tmp = tmp_path / "home", tmp_path / "pids", tmp_path / "tmp"
    tmp.mkdir()
    path = write_pipeline(tmp_path, "interrupted", INTERRUPTED)
    session = spawn(["run", str(path), "-p", f"pidfile={pidfile}"], tmp_path, home, TMPDIR=str(tmp))
    deadline = time.monotonic() + 60
    while not pidfile.exists():
        assert time.monotonic() < deadline, session.text[-3000:]
        session.expect(r"sleeper|running", timeout=60)
    step, server, grandchild = read_pids(pidfile)
    pids.extend([step, server, grandchild])
    assert server != session.child.pid  # the step was forked by the server
    session.child.send("\x03")
    session.finish(timeout=60)
    assert session.exit_code == 130, session.text[-3000:]
    assert re.search(r"run interrupted-\S+ interrupted", session.text), session.text[-3000:]
    for pid in (step, grandchild, server):
        assert wait_gone(pid), f"process {pid} was left behind"
    assert list(tmp.iterdir()) == []  # the step's folder and the server's


STUCK_SERVER = """
if sys.argv[0].endswith("fork_server.py"):  # imported into the fork server: it hangs there
    with open(os.environ["WARM_MARK"] + ".tmp", "w") as out:
        out.write(str(os.getpid()))
    os.replace(os.environ["WARM_MARK"] + ".tmp", os.environ["WARM_MARK"])
    time.sleep(120)


@component(runtime=Process(), timeout=100)
def stuck() -> int:
    return 1


@component
def fast() -> int:  # a Local step: starting any run cleans up
    return 1


@pipeline
def killed() -> None:
    stuck()


@pipeline
def later() -> int:
    return fast().output
"""


def test_the_next_engine_kills_a_sigkilled_engines_stuck_server_and_removes_its_folder(
    tmp_path: Path, pids: list[int]
) -> None:
    tmp = tmp_path / "tmp"  # the engines' temp folder: nothing else's is looked at
    tmp.mkdir()
    path = write_pipeline(tmp_path, "stuck_server", STUCK_SERVER)
    mark = tmp_path / "server"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "TMPDIR": str(tmp),
        "DAGWRIGHT_HOME": "home",
        "WARM_MARK": str(mark),
    }
    engine = subprocess.Popen(
        [sys.executable, "-m", "dagwright.cli", "run", f"{path}:killed"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pids.append(engine.pid)
    (server,) = read_pids(mark)
    pids.append(server)
    (folder,) = tmp.glob("dagwright-forkserver-*")
    engine.send_signal(signal.SIGKILL)
    engine.wait(timeout=30)
    time.sleep(0.5)
    assert pid_alive(server) and folder.exists()  # stuck in the import: it cannot see the end
    proc = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "run", f"{path}:later", "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert wait_gone(server), "the dead engine's fork server was left running"
    assert not folder.exists()
    assert list(tmp.iterdir()) == []


HANGS_ON_IMPORT = """
import os
import time

from dagwright import component, pipeline
from dagwright.runtimes import Process

if os.getpid() != int(os.environ["WARM_ENGINE_PID"]):  # not in the engine: in the fork server
    time.sleep(120)


@component(runtime=Process(), timeout=3)
def stuck() -> int:
    return 1


@pipeline
def p() -> int:
    return stuck().output
"""


def test_a_module_whose_import_hangs_times_out_and_the_server_is_replaced(
    run: Any, user_modules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARM_ENGINE_PID", str(os.getpid()))
    (user_modules / "warm_hangs.py").write_text(HANGS_ON_IMPORT)
    module = importlib.import_module("warm_hangs")
    first = run(whoami_pipeline()).outputs["output"][1]
    started = time.monotonic()
    result = run(module.p)
    assert time.monotonic() - started < 60
    assert result.step("stuck").error == (
        "TimeoutError: step 'stuck' did not finish within 3 s and was killed"
    )
    assert wait_gone(first), "the stuck server was left running"
    assert run(whoami_pipeline()).outputs["output"][1] != first  # a new server serves on


@component(runtime=Process())
def outlives_its_server(pidfile: str) -> int:
    import os
    import time

    server = os.getppid()
    with open(pidfile + ".tmp", "w") as out:
        out.write(f"{os.getpid()} {server}")
    os.replace(pidfile + ".tmp", pidfile)
    deadline = time.monotonic() + 60
    while os.getppid() == server and time.monotonic() < deadline:  # orphaned when it died
        time.sleep(0.05)
    return 7


def test_a_step_running_when_another_steps_import_hangs_still_succeeds(
    user_modules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pids: list[int]
) -> None:
    import threading

    from dagwright.executor import Step
    from dagwright.runtimes.process import run_process

    monkeypatch.setenv("WARM_ENGINE_PID", str(os.getpid()))
    (user_modules / "warm_hangs.py").write_text(HANGS_ON_IMPORT)
    stuck = importlib.import_module("warm_hangs").stuck
    pidfile = tmp_path / "pids"
    attempts: dict[str, Any] = {}

    def run_slow() -> None:
        step = Step(
            component=outlives_its_server.spec, task="slow", parameters={"pidfile": str(pidfile)}
        )
        attempts["slow"] = run_process(step, 60)

    slow = threading.Thread(target=run_slow)
    slow.start()
    step, server = read_pids(pidfile)  # forked and running before the import hangs
    pids.append(step)
    attempts["stuck"] = run_process(Step(component=stuck.spec, task="stuck"), 2)
    slow.join(60)
    assert attempts["stuck"].error == (
        "TimeoutError: step 'stuck' did not finish within 2 s and was killed"
    )
    assert wait_gone(server), "the server stuck in the import was left running"
    assert attempts["slow"].ok, attempts["slow"].error
    assert attempts["slow"].outcome.values == {"output": 7}
    assert wait_gone(step)


STARTS_A_THREAD = """
import os
import threading
import time

from dagwright import component, pipeline
from dagwright.runtimes import Process

threading.Thread(target=time.sleep, args=(120,), name="warm-import-thread", daemon=True).start()


@component(runtime=Process())
def threaded() -> int:
    return os.getppid()


@pipeline
def p() -> None:
    threaded()
    threaded()
"""


def test_a_module_whose_import_starts_a_thread_runs_in_new_interpreters(
    run: Any, user_modules: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = run(whoami_pipeline()).outputs["output"][1]
    (user_modules / "warm_threads.py").write_text(STARTS_A_THREAD)
    module = importlib.import_module("warm_threads")
    with caplog.at_level("WARNING", logger=warm.__name__):
        result = run(module.p)
        again = run(module.p)
    parents = [
        r.step(t).outputs["output"] for r in (result, again) for t in ("threaded", "threaded-2")
    ]
    assert parents == [os.getpid()] * 4  # never forked from a server with the thread
    said = [r.getMessage() for r in caplog.records if "warm_threads" in r.getMessage()]
    assert len(said) == 1 and "started threads" in said[0], said
    assert wait_gone(first), "the server with the thread was kept"
    assert run(whoami_pipeline()).outputs["output"][1] not in (first, os.getpid())


FAILS_ON_IMPORT = """
import os

from dagwright import component, pipeline
from dagwright.runtimes import Process

if os.getpid() != int(os.environ["WARM_ENGINE_PID"]):  # in the fork server or a step
    with open(os.environ["WARM_IMPORTS"], "a") as out:
        out.write(f"{os.getpid()}\\n")
    raise RuntimeError("this module cannot be imported here")


@component(runtime=Process())
def broken() -> int:
    return 1


@pipeline
def p() -> int:
    return broken().output
"""


def test_a_failed_import_is_not_tried_again_in_the_server(
    run: Any, user_modules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    imports = tmp_path / "imports"
    monkeypatch.setenv("WARM_ENGINE_PID", str(os.getpid()))
    monkeypatch.setenv("WARM_IMPORTS", str(imports))
    server = run(whoami_pipeline()).outputs["output"][1]
    (user_modules / "warm_fails.py").write_text(FAILS_ON_IMPORT)
    module = importlib.import_module("warm_fails")
    for _ in range(3):  # each step tries it again, then runs the source its spec carries
        assert run(module.p).outputs["output"] == 1
    importers = [int(line) for line in imports.read_text().split()]
    assert importers.count(server) == 1, importers  # once in the server, then in each step
    assert len(importers) == 4, importers
    (user_modules / "warm_fails.py").write_text(FAILS_ON_IMPORT.replace("here", "here!"))
    assert run(module.p).outputs["output"] == 1
    importers = [int(line) for line in imports.read_text().split()]
    assert importers.count(server) == 2, importers  # a changed file is worth a new try
    assert run(whoami_pipeline()).outputs["output"][1] == server


def whoami_pipeline() -> Any:
    @pipeline
    def p() -> list:
        return whoami(word="x").output

    return p


SLOW_IMPORT = """
import os
import time

from dagwright import component
from dagwright.runtimes import Process

if os.getpid() != int(os.environ["WARM_ENGINE_PID"]):  # in the fork server: a slow import
    time.sleep(4)


@component(runtime=Process())
def slow_module() -> int:
    return 1
"""


@component(runtime=Process(), timeout=1)
def queued(marker: str) -> None:
    open(marker, "w").close()


def test_a_step_whose_deadline_passes_in_the_queue_is_never_forked(
    user_modules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from dagwright.executor import Step
    from dagwright.runtimes.process import run_process

    monkeypatch.setenv("WARM_ENGINE_PID", str(os.getpid()))
    (user_modules / "warm_slow.py").write_text(SLOW_IMPORT)
    slow = importlib.import_module("warm_slow").slow_module
    attempts: dict[str, Any] = {}

    def run_slow() -> None:
        attempts["slow"] = run_process(Step(component=slow.spec, task="slow"), None)

    marker = tmp_path / "ran"
    queued_step = Step(component=queued.spec, task="queued", parameters={"marker": str(marker)})
    first = threading.Thread(target=run_slow)
    first.start()
    time.sleep(1)  # the server is importing warm_slow now: the next request waits behind it
    attempts["queued"] = run_process(queued_step, 1)
    first.join(60)
    assert attempts["queued"].error == (
        "TimeoutError: step 'queued' did not finish within 1 s and was killed"
    )
    assert attempts["slow"].ok, attempts["slow"].error  # the server was not killed under it
    time.sleep(0.5)
    assert not marker.exists(), "the step past its deadline was forked all the same"
    assert len(warm.running()) == 1


@component(runtime=Process(), env={"WARM_ROOMY": "z" * 80_000})
def roomy() -> int:
    return 1


def test_a_step_queued_behind_a_busy_server_keeps_its_deadline(
    user_modules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a server importing a module reads no requests: after two requests this large its socket
    # is full, and sending the next one must not wait past that step's deadline
    import threading

    from dagwright.executor import Step
    from dagwright.runtimes.process import run_process

    monkeypatch.setenv("WARM_ENGINE_PID", str(os.getpid()))
    (user_modules / "warm_blocks.py").write_text(SLOW_IMPORT.replace("sleep(4)", "sleep(60)"))
    slow = importlib.import_module("warm_blocks").slow_module
    attempts: dict[str, Any] = {}
    took: dict[str, float] = {}

    def attempt(name: str, step: Step, timeout: float) -> None:
        started = time.monotonic()
        attempts[name] = run_process(step, timeout)
        took[name] = time.monotonic() - started

    threads = [threading.Thread(target=attempt, args=("slow", Step(slow.spec, "slow"), 12))]
    threads[0].start()
    time.sleep(1)  # the server is importing warm_blocks now
    for n in range(4):
        step = Step(component=roomy.spec, task=f"roomy-{n}")
        threads.append(threading.Thread(target=attempt, args=(f"roomy-{n}", step, 1)))
        threads[-1].start()
    for thread in threads:
        thread.join(60)
    for n in range(4):
        assert attempts[f"roomy-{n}"].error == (
            f"TimeoutError: step 'roomy-{n}' did not finish within 1 s and was killed"
        )
    assert max(took[f"roomy-{n}"] for n in range(4)) < 6, took  # not the 12 s of the import
    assert attempts["slow"].error == (
        "TimeoutError: step 'slow' did not finish within 12 s and was killed"
    )


# one variable holds at most 128 KiB (Linux's limit for an exec); two make a request too large
@component(runtime=Process(), env={"WARM_BIG1": "x" * 60_000, "WARM_BIG2": "y" * 60_000})
def big_env() -> list:
    import os

    return [os.getppid(), len(os.environ["WARM_BIG1"] + os.environ["WARM_BIG2"])]


def test_an_environment_too_large_for_one_message_runs_in_a_new_interpreter(run: Any) -> None:
    @pipeline
    def p() -> list:
        return big_env().output

    assert run(p).outputs["output"] == [os.getpid(), 120_000]
