"""The runs of a Kubeflow Pipelines server, through ``kfp.Client``: listed with their state,
shown with their tasks, terminated, retried from the failed tasks.

KFP's v2beta1 API serves no logs (its UI reads them from Kubernetes itself), so ``logs``
says where to look instead: the task's pod for ``kubectl logs``, and the run's page.
"""

from __future__ import annotations

from typing import Any

from dagwright.errors import ValidationError
from dagwright.remote import SubmitError
from dagwright.remote.kfp_service import connect, quiet, remote_errors, ui_url
from dagwright.remote.run_records import (
    RemoteRun,
    RemoteStep,
    StepLogs,
    chosen_steps,
    unfinished,
    utc,
)

# the states KFP's RetryRun takes: those of a run whose workflow failed or was terminated
RETRIABLE = frozenset({"FAILED", "CANCELED"})
ENDED = frozenset({"SUCCEEDED", "SKIPPED", "FAILED", "CANCELED"})


class KfpRuns:
    """The runs of one KFP server (see ``dagwright.remote.kfp_service.connect`` for the options).

    Args:
        host: The KFP API endpoint; None lets kfp find it.
        namespace: The Kubernetes namespace (multi-user KFP).
        token: A bearer token (default ``$KFP_TOKEN``).
        experiment: List only the runs of this experiment (its name).
        verify_ssl: Must stay True: kfp.Client offers no way to skip the TLS check (give
            the server's CA to the system's trust store instead).

    Raises:
        ValidationError: for ``verify_ssl=False``.
    """

    def __init__(
        self,
        host: str | None = None,
        *,
        namespace: str | None = None,
        token: str | None = None,
        experiment: str | None = None,
        verify_ssl: bool = True,
    ) -> None:
        if not verify_ssl:
            raise ValidationError(
                "kfp.Client always checks the server's TLS certificate",
                field="verify_ssl",
                fix="leave it out for KFP; trust the server's CA on this machine instead",
            )
        self.host, self.namespace, self.token = host, namespace, token
        self.experiment = experiment
        self._client: Any = None

    def _connected(self) -> Any:
        if self._client is None:
            self._client = connect(self.host, namespace=self.namespace, token=self.token)
        return self._client

    def ls(self, limit: int = 20) -> list[RemoteRun]:
        """The most recent runs, newest first (``list_runs`` sorted by creation time)."""
        with remote_errors(self.host):
            client = self._connected()
            experiment_id = None
            if self.experiment:
                with quiet():
                    found = client.get_experiment(
                        experiment_name=self.experiment, namespace=self.namespace
                    )
                experiment_id = found.experiment_id
            with quiet():
                listed = client.list_runs(
                    page_size=limit,
                    sort_by="created_at desc",
                    experiment_id=experiment_id,
                    namespace=self.namespace,
                )
        return [self._run(run) for run in listed.runs or []]

    def show(self, run_id: str) -> RemoteRun:
        """The run with its tasks (``get_run``'s run details)."""
        with remote_errors(self.host):
            return self._shown(self._connected(), run_id)

    def logs(self, run_id: str, step: str | None = None) -> list[StepLogs]:
        """KFP's API has no logs: a SubmitError that says where to read them.

        Raises:
            ValidationError: the run has no step ``step``.
            SubmitError: always otherwise, naming each step's pod and the run's page.
        """
        run = self.show(run_id)
        steps = chosen_steps(run, step)
        where = [f"kubectl logs -n {self.namespace or 'kubeflow'} {s.pod} -c main" for s in steps]
        if not any(s.pod for s in steps):
            where = ["(no pod recorded for these steps yet)"]
        else:
            where = [w for w, s in zip(where, steps, strict=True) if s.pod]
        page = f"; or the run's page: {run.url}" if run.url else ""
        raise SubmitError(
            "KFP's API serves no step logs; read them from Kubernetes:\n  "
            + "\n  ".join(where)
            + page
        )

    def cancel(self, run_id: str) -> RemoteRun:
        """Terminate the run (``terminate_run``: KFP sets its workflow's deadline to 0). Its exit
        task fails with the rest, so a notification ``on=["cancelled"]`` is not sent (compiling
        warns of it, ``compiler/kfp/notify.py``).

        Raises:
            ValidationError: the run has ended already.
        """
        with remote_errors(self.host):
            client = self._connected()
            run = self._shown(client, run_id)
            if run.status in ENDED:
                raise ValidationError(
                    f"run '{run_id}' has ended ({run.status})",
                    field="RUN",
                    fix="only a run that has not ended can be cancelled",
                )
            with quiet():
                client.terminate_run(run_id)
            return self._shown(client, run_id)

    def retry(self, run_id: str) -> RemoteRun:
        """Retry a failed or terminated run: its failed tasks run again, the others are kept
        (KFP's ``RetryRun``).

        Raises:
            ValidationError: the run did not fail.
        """
        with remote_errors(self.host):
            client = self._connected()
            run = self._shown(client, run_id)
            if run.status not in RETRIABLE:
                raise ValidationError(
                    f"run '{run_id}' is {run.status}",
                    field="RUN",
                    fix="only a FAILED or CANCELED run can be retried",
                )
            with quiet():
                client.runs.run_service_retry_run(run_id=run_id)
            return self._shown(client, run_id)

    # --- the server's answers as records ------------------------------------------------------

    def _shown(self, client: Any, run_id: str) -> RemoteRun:
        with quiet():
            found = client.get_run(run_id)
        run = self._run(found)
        details = getattr(found, "run_details", None)
        tasks = list(getattr(details, "task_details", None) or [])
        run.steps = [_step(task) for task in tasks if not _is_group(task)]
        run.steps.sort(key=lambda s: (s.started is None, s.started or 0, s.name))
        return run

    def _run(self, run: Any) -> RemoteRun:
        error = getattr(run, "error", None)
        return RemoteRun(
            run_id=str(run.run_id),
            name=str(run.display_name or run.run_id),
            status=str(run.state or "-"),
            created=utc(run.created_at),
            finished=unfinished(utc(run.finished_at)),
            url=ui_url(self.host, f"runs/details/{run.run_id}"),
            message=getattr(error, "message", None) or None,
        )


def _is_group(task: Any) -> bool:
    """A DAG task (the root, a condition or loop block): its children are tasks, not pods."""
    return any(getattr(c, "task_id", None) for c in getattr(task, "child_tasks", None) or [])


def _step(task: Any) -> RemoteStep:
    error = getattr(task, "error", None)
    # KFP 2 lists a task's pods as its children: its driver's, then its executor's (the step)
    pods = [c.pod_name for c in getattr(task, "child_tasks", None) or [] if c.pod_name]
    pods = [p for p in pods if "-driver-" not in p] or pods
    return RemoteStep(
        name=str(task.display_name or task.task_id),
        status=str(task.state or "-"),
        started=utc(getattr(task, "start_time", None) or getattr(task, "create_time", None)),
        finished=unfinished(utc(getattr(task, "end_time", None))),
        message=getattr(error, "message", None) or None,
        pod=getattr(task, "pod_name", None) or (pods[-1] if pods else None),
    )
