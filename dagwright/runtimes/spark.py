"""The Spark runtime: the function gets a SparkSession as ``spark``.

Here the session is PySpark ``local[executors]`` in this process, started on the run's first
Spark step and stopped when the run ends; on Kubernetes the step becomes a SparkApplication of
the Spark operator (``sparkoperator.k8s.io/v1beta2``).
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import threading
import traceback
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

from dagwright.errors import ValidationError
from dagwright.executor import Step
from dagwright.runtimes import Attempt, Fragments, PodStep, RuntimeConfig, Session, crd
from dagwright.runtimes.local import attempt_step, run_local
from dagwright.runtimes.scale_out import Spark
from dagwright.runtimes.spark_driver import DRIVER_FILE
from dagwright.runtimes.step_env import in_process

API_VERSION = "sparkoperator.k8s.io/v1beta2"
# the operator's ApplicationStateType values that end an application
SUCCESS = "status.applicationState.state == COMPLETED"
FAILURE = "status.applicationState.state in (FAILED, SUBMISSION_FAILED)"

# A step that calls spark.stop() stops the run's one session for the steps after it. They fail
# with this message rather than get a fresh session: another step of the run may be using the
# old one in parallel, and a restart would hide the bug in the step that stopped it.
STOPPED = (
    "RuntimeError: the run's Spark session was stopped by a step (spark.stop()); the run stops "
    "it when it ends, so remove the step's spark.stop() call"
)

# one SparkContext per process: the check for a running one and the start are one step
_START = threading.Lock()
_STARTED: dict[int, tuple[str, Spark]] = {}  # id of a session started here -> (run, config)


class SparkRuntime:
    """``Spark()``: a local SparkSession shared by the run's Spark steps; a SparkApplication
    on Kubernetes.

    A process holds one SparkContext, and its master and core settings are fixed once it
    starts, so a run has one Spark session, made from the ``executors`` and ``conf`` of the
    first Spark step that runs. Steps whose config has the same ``executors`` and ``conf`` share
    it (the other fields only shape pods on Kubernetes and do not matter here). A step with a
    different ``executors`` or ``conf`` is refused, and so is any Spark step while another
    SparkContext runs in the process (another run's, or one the caller started): the step
    fails with a ValidationError that names the session already running, rather than getting
    a session whose settings silently differ from its config. Give every Spark step of a
    pipeline the same config (a module-level ``SPARK = Spark(...)`` is the simple way).

    Each step's Spark jobs carry a job tag of their own. When the step outlives its timeout,
    its thread is left running (as with ``Local()``), but its Spark jobs are cancelled, and so
    is any job it starts afterwards, until the thread ends or the session stops. The timeout
    counts from when the session is ready, not from the session's start.
    """

    def run(self, step: Step, timeout: float | None, session: Session) -> Attempt:
        """Run the step with the run's SparkSession (one per settings)."""
        config = _spark_config(step.component.runtime)
        try:
            spark = session.resource(
                _key(config), lambda: start_session(config, session.run_id), stop_session
            )
        except Exception as exc:  # a refused or failed start fails this step, as data
            return Attempt(error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        if _stopped(spark):
            return Attempt(error=STOPPED)
        # a tag may not hold commas (a loop iteration's task name may)
        tag = f"dagwright-{re.sub(r'[^A-Za-z0-9_.-]', '-', step.task)}-{secrets.token_hex(4)}"
        finished = threading.Event()

        def attempt(
            step: Step, abandoned: threading.Event | None, provided: Mapping[str, Any] | None
        ) -> Attempt:
            try:
                # job tags belong to a thread: set in the one that runs the function
                spark.sparkContext.addJobTag(tag)
            except Exception as exc:  # stopped since the check above, by a parallel step
                error = STOPPED if _stopped(spark) else f"{type(exc).__name__}: {exc}"
                finished.set()
                return Attempt(error=error, traceback=traceback.format_exc())
            try:
                return attempt_step(step, abandoned, provided)
            finally:
                finished.set()
                with contextlib.suppress(Exception):  # the session may be gone by now
                    spark.sparkContext.removeJobTag(tag)

        result = run_local(step, timeout, provided={"spark": spark}, attempt=attempt)
        if not finished.is_set():  # timed out, its thread still running
            threading.Thread(
                target=_cancel_until, args=(spark, tag, finished), name=tag, daemon=True
            ).start()
        return result

    def fragments(self, config: RuntimeConfig, pod: PodStep) -> Fragments:
        """The step as a SparkApplication whose driver runs the step's command.

        The driver pod runs ``spark-submit`` on ``local:///opt/dagwright/spark_driver.py``
        (``dagwright.runtimes.spark_driver``, which the image must hold there) with
        ``pod.command`` as its arguments; that script becomes the command, whose executor joins
        the driver's JVM with ``SparkSession.builder.getOrCreate()`` (``in_pod``). The driver
        and executor pods get ``pod.env``; ``pod.resources`` CPU request and limit and memory
        limit go to the driver, whose memory is ``driver_memory``.

        Raises:
            ValidationError: if the manifest does not match the operator's CRD (a dagwright bug).
        """
        spark = _spark_config(config)
        env = [{"name": name, "value": value} for name, value in pod.env.items()]
        driver: dict[str, Any] = {
            "cores": 1,
            "memory": spark.driver_memory,
            "serviceAccount": spark.service_account,
        }
        requests, limits = pod.resources.get("requests", {}), pod.resources.get("limits", {})
        for name, value in (
            ("coreRequest", requests.get("cpu")),
            ("coreLimit", limits.get("cpu")),
            ("memoryLimit", limits.get("memory")),
        ):
            if value is not None:
                driver[name] = value
        executor: dict[str, Any] = {
            "instances": spark.executors,
            "cores": spark.executor_cores,
            "memory": spark.executor_memory,
        }
        if env:
            driver["env"], executor["env"] = env, [dict(e) for e in env]
        manifest: dict[str, Any] = {
            "apiVersion": API_VERSION,
            "kind": "SparkApplication",
            "metadata": {"name": pod.name},
            "spec": {
                "type": "Python",
                "mode": "cluster",
                "image": pod.image,
                "mainApplicationFile": f"local://{DRIVER_FILE}",
                "arguments": list(pod.command),
                "sparkVersion": spark.spark_version,
                "restartPolicy": {"type": "Never"},  # retries are the workflow's
                "driver": driver,
                "executor": executor,
            },
        }
        if spark.conf:
            manifest["spec"]["sparkConf"] = dict(spark.conf)
        crd.validate(manifest, crd.SPARK)
        return Fragments(resource=manifest, success_condition=SUCCESS, failure_condition=FAILURE)

    def in_pod(self, config: RuntimeConfig) -> AbstractContextManager[dict[str, Any]]:
        """In the driver: the session spark-submit configured, stopped when the step ends."""
        return _driver_session()


def _stopped(spark: Any) -> bool:
    """Whether the session was stopped (``spark.stop()`` leaves its context without a JVM)."""
    try:
        return spark.sparkContext._jsc is None
    except Exception:  # no context to ask: as good as stopped
        return True


def _cancel_until(spark: Any, tag: str, finished: threading.Event) -> None:
    """Cancel an abandoned step's Spark jobs, also those it submits later, until it ends."""
    while True:
        try:
            spark.sparkContext.cancelJobsWithTag(tag)
        except Exception:  # the session stopped: nothing is left to cancel
            return
        if finished.wait(0.5):
            return


@contextlib.contextmanager
def _driver_session() -> Iterator[dict[str, Any]]:
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    try:
        yield {"spark": spark}
    finally:
        spark.stop()


def start_session(config: Spark, run_id: str = "") -> Any:
    """A ``local[executors]`` SparkSession with ``conf``, named after the run.

    Raises:
        ValidationError: when a SparkContext already runs in this process.
    """
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    with _START:
        running = SparkContext._active_spark_context
        if running is not None:
            raise _refusal(config, running)
        builder = SparkSession.builder.master(f"local[{config.executors}]")
        builder = builder.appName(f"dagwright-{run_id}" if run_id else "dagwright")
        # Spark's console progress bar would land in every step's captured stderr
        builder = builder.config("spark.ui.showConsoleProgress", "false")
        for key, value in config.conf.items():  # after master and name: the user's win
            builder = builder.config(key, value)
        # py4j logs its connection closing at INFO when the interpreter exits, after the
        # logging streams may be closed (a "Logging error" on every test run)
        logging.getLogger("py4j").setLevel(logging.WARNING)
        # the JVM (and the Python workers it starts) inherit os.environ: not while a Local
        # step holds a Secret there
        with in_process({}):
            spark = builder.getOrCreate()
        _STARTED[id(spark.sparkContext)] = (run_id, config)
        return spark


def stop_session(spark: Any) -> None:
    """Stop a session from ``start_session`` (and its SparkContext)."""
    with _START:
        _STARTED.pop(id(spark.sparkContext), None)
        spark.stop()


def _refusal(config: Spark, running: Any) -> ValidationError:
    owner = _STARTED.get(id(running))
    if owner is None:
        what = f"a SparkContext started outside dagwright ({running.master})"
        fix = "stop that session (spark.stop()) before the run"
    else:
        run_id, other = owner
        what = (
            f"the Spark session of run '{run_id}' (executors={other.executors}, conf={other.conf})"
        )
        fix = (
            "give every Spark step of the pipeline the same executors and conf, "
            "and run pipelines with Spark steps one at a time in a process"
        )
    return ValidationError(
        f"this step asks for Spark(executors={config.executors}, conf={config.conf}), but "
        f"{what} is running, and a process holds only one SparkContext",
        field="runtime",
        fix=fix,
    )


def _key(config: Spark) -> tuple[Any, ...]:
    return ("spark", config.executors, tuple(sorted(config.conf.items())))


def _spark_config(config: RuntimeConfig) -> Spark:
    if not isinstance(config, Spark):
        raise TypeError(f"the Spark runtime got a '{config.kind}' runtime config")
    return config
