"""The Nuclio runtime: a component becomes a real-time HTTP function ``(context, event)``.

The step deploys the function and outputs its URL. Here that is an HTTP server on 127.0.0.1
that hosts the handler until the run's session closes (``dagwright serve`` keeps it open until
stopped); inside a compiled step's pod it is a NuclioFunction deployed through the Nuclio
dashboard (``nuclio_deploy``). Either way the handler gets the step's inputs bound by name,
and each request is a ``nuclio_sdk.Event`` whose answer follows Nuclio's own mapping
(``nuclio_sdk.Response.from_entrypoint_output``). nuclio-sdk is imported only when a function
is served.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import json
import logging
import sys
import threading
import traceback
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from dagwright.components.decorator import SINGLE_OUTPUT
from dagwright.components.functions import resolve_function
from dagwright.errors import DagwrightError, ValidationError
from dagwright.executor import Step, StepOutcome, bound_inputs
from dagwright.runtimes import Attempt, Fragments, PodStep, RuntimeConfig, Session
from dagwright.runtimes.scale_out import Nuclio

HOST = "127.0.0.1"
DEFAULT_MAX_BODY = 10 * 1024 * 1024  # bytes; ``dagwright serve --max-body`` changes it
READ_TIMEOUT = 30.0  # seconds a client may take to send a request, so none holds a thread


class BadRequest(DagwrightError):
    """A request refused before the handler sees it: its HTTP status and a short reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class NuclioRuntime:
    """``Nuclio()``: a local HTTP server per step; a NuclioFunction on Kubernetes."""

    def run(self, step: Step, timeout: float | None, session: Session) -> Attempt:
        """Serve the step's function until the session closes; the outcome is its URL.

        ``timeout`` does not apply: the step ends as soon as the function answers at its URL.
        """
        # the bound inputs are part of the key: one session may serve a task twice, differently
        text = json.dumps(step.to_dict(), sort_keys=True, default=str)
        key = ("nuclio", step.task, hashlib.sha256(text.encode()).hexdigest())
        max_body = session.max_body or DEFAULT_MAX_BODY
        try:
            server = session.resource(key, lambda: serve(step, max_body), LocalFunction.stop)
        except Exception as exc:  # the step's failure is data for the engine
            return Attempt(error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        return Attempt(StepOutcome(values={SINGLE_OUTPUT: server.url}))

    def fragments(self, config: RuntimeConfig, pod: PodStep) -> Fragments:
        """The NuclioFunction the step's pod deploys (its step description is known only in
        the pod, so this manifest's entry reads it from ``DAGWRIGHT_STEP``)."""
        from dagwright.runtimes.nuclio_deploy import function_manifest

        assert isinstance(config, Nuclio)
        manifest = function_manifest(config, name=pod.name, image=pod.image, env=pod.env)
        return Fragments(resource=manifest)

    def in_pod(self, config: RuntimeConfig) -> AbstractContextManager[dict[str, Any]]:
        """Nothing: a compiled serving step deploys its function instead (``deploy``)."""
        return contextlib.nullcontext({})

    def deploy(self, step: Step) -> StepOutcome:
        """Inside a compiled step's pod: deploy through the dashboard, output the URL."""
        from dagwright.runtimes.nuclio_deploy import deploy

        return deploy(step)


def check_servable(step: Step) -> None:
    """Refuse what a function answering requests cannot have: outputs written per call."""
    spec = step.component
    if spec.output_artifacts:
        name = spec.output_artifacts[0].name
        raise ValidationError(
            f"component '{spec.name}': a nuclio function answers requests and cannot write "
            f"the artifact '{name}'",
            field=name,
            fix="drop the Output[...] parameter; return the answer from the handler",
        )


class Function:
    """The component's handler with the step's inputs bound, as one Nuclio worker runs it.

    Like a Nuclio function with one worker, events are handled one at a time with one
    ``Context`` whose ``user_data`` persists across calls.
    """

    def __init__(self, step: Step) -> None:
        import nuclio_sdk

        check_servable(step)
        self.task = step.task
        self._stack = ExitStack()
        self.func = resolve_function(step.component, step.digest)
        self.inputs = self._stack.enter_context(bound_inputs(step))
        logger = nuclio_sdk.Logger(logging.INFO, name=f"dagwright.nuclio.{step.task}")
        logger.set_handler("default", sys.stderr, nuclio_sdk.logger.HumanReadableFormatter())
        trigger = nuclio_sdk.TriggerInfo("http", "http")
        self.context = nuclio_sdk.Context(
            logger, nuclio_sdk.Platform("local"), worker_id=0, trigger=trigger
        )
        self._encoder = nuclio_sdk.json_encoder.Encoder()
        self._lock = threading.Lock()

    def __call__(self, context: Any, event: Any) -> Any:
        """Call the handler with the event and the step's other inputs."""
        return self.func(context=context, event=event, **self.inputs)

    def respond(self, event: Any) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for one event, as Nuclio's Python wrapper makes them."""
        import nuclio_sdk

        try:
            with self._lock:
                output = self(self.context, event)
            answer = nuclio_sdk.Response.from_entrypoint_output(self._encoder.encode, output)
        except Exception as exc:  # the handler's failure is the caller's 500, as in Nuclio
            # the traceback goes to the log only: a body is shown to whoever called, and a
            # traceback tells them the server's paths and code
            text = f'Exception caught in handler - "{type(exc).__name__}: {exc}"'
            self.context.logger.error_with(
                "Exception caught in handler", exc=str(exc), traceback=traceback.format_exc()
            )
            answer = {"status_code": 500, "body": text, "content_type": "text/plain"}
        body = answer["body"]
        if answer.get("body_encoding") == "base64":
            data = base64.b64decode(body)
        else:
            data = body if isinstance(body, bytes) else str(body).encode()
        headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
        headers["Content-Type"] = answer.get("content_type") or "text/plain"
        return int(answer.get("status_code") or 200), headers, data

    def close(self) -> None:
        """Release what the function's inputs opened."""
        self._stack.close()


def event_from_request(
    method: str, target: str, headers: dict[str, str], body: bytes, url: str
) -> Any:
    """A ``nuclio_sdk.Event`` as Nuclio's HTTP trigger makes it: query fields in ``fields``,
    a JSON body decoded when the content type is ``application/json``.

    Raises ``BadRequest`` (400) for a body that says it is JSON and is not: the handler would
    only fail on the bytes, and the caller is the one who can fix it.
    """
    import nuclio_sdk

    parts = urlsplit(target)
    # header names are case-insensitive (urllib sends "Content-type", others "content-type")
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    decoded: Any = body
    if content_type.split(";")[0].strip().lower() == "application/json" and body:
        try:
            decoded = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise BadRequest(400, "malformed JSON body: not UTF-8") from None
        except ValueError as exc:
            raise BadRequest(400, f"malformed JSON body: {exc}") from None
    return nuclio_sdk.Event(
        body=decoded,
        content_type=content_type,
        trigger=nuclio_sdk.TriggerInfo("http", "http"),
        fields=dict(parse_qsl(parts.query)),
        headers=headers,
        _id=str(uuid.uuid4()),
        method=method,
        path=parts.path or "/",
        size=len(body),
        timestamp=datetime.datetime.now(datetime.timezone.utc),
        url=url + target,
    )


def body_length(headers: Any, limit: int) -> int:
    """The body's length from ``Content-Length``, checked before a byte of it is read."""
    if headers.get("Transfer-Encoding"):
        raise BadRequest(411, "send the body with a Content-Length, not chunked")
    values = headers.get_all("Content-Length") or []
    if not values:
        return 0
    text = values[0].strip()
    if len(set(values)) > 1 or not text.isdigit():
        raise BadRequest(400, f"Content-Length {', '.join(values)!r} is not a number of bytes")
    length = int(text)
    if length > limit:
        raise BadRequest(413, f"body of {length} bytes is over the limit of {limit} bytes")
    return length


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = READ_TIMEOUT

    def _refuse(self, problem: BadRequest) -> None:
        data = json.dumps({"error": str(problem)}).encode()
        self.send_response(problem.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        # a body left unread would be taken for the next request on this connection
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_expect_100(self) -> bool:
        # curl asks before sending a body over 1 MiB: refuse one over the limit before it comes
        try:
            body_length(self.headers, self.server.max_body)
        except BadRequest as problem:
            self._refuse(problem)
            return False
        return super().handle_expect_100()

    def _answer(self) -> None:
        try:
            length = body_length(self.headers, self.server.max_body)
            body = self.rfile.read(length) if length else b""
            if len(body) < length:
                raise BadRequest(400, f"body ended after {len(body)} of {length} bytes")
            event = event_from_request(
                self.command, self.path, dict(self.headers.items()), body, self.server.url
            )
        except BadRequest as problem:
            self._refuse(problem)
            return
        status, headers, data = self.server.function.respond(event)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # an access line per request would flood the engine's and serve's stderr


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], function: Function, max_body: int = DEFAULT_MAX_BODY
    ) -> None:
        self.function = function
        self.max_body = max_body
        super().__init__(address, _Handler)
        self.url = f"http://{HOST}:{self.server_address[1]}"


class LocalFunction:
    """A function served on 127.0.0.1 by a daemon thread, until ``stop``."""

    def __init__(self, server: _Server) -> None:
        self.server = server
        self.url = server.url
        self.thread = threading.Thread(
            # a short poll, so stopping (the run's end) does not wait half a second per function
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"nuclio-{server.function.task}",
            daemon=True,
        )
        self.thread.start()

    def stop(self) -> None:
        """Stop serving and wait for the server thread."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
        self.server.function.close()


def serve(step: Step, max_body: int = DEFAULT_MAX_BODY) -> LocalFunction:
    """Start serving the step's function, refusing bodies over ``max_body`` bytes with 413;
    fails naming ``port`` when it cannot be bound."""
    config = step.component.runtime
    assert isinstance(config, Nuclio)
    function = Function(step)
    try:
        server = _Server((HOST, config.port), function, max_body)
    except OSError as exc:
        function.close()
        raise ValidationError(
            f"runtime nuclio: step '{step.task}' cannot listen on {HOST}:{config.port} ({exc})",
            field="port",
            fix="pass port=0 for any free port, or stop what listens on that port",
        ) from exc
    return LocalFunction(server)


def entry(step_json: str) -> tuple[Callable[[Any, Any], Any], Callable[[Any], None]]:
    """``(handler, init_context)`` for a deployed function's ``main.py``.

    Nuclio calls ``init_context`` once per worker, which binds the step's inputs; then
    ``handler(context, event)`` for each event, with Nuclio's own context.
    """
    step = Step.from_dict(json.loads(step_json))
    check_servable(step)
    bound: list[Function] = []

    def init_context(context: Any) -> None:
        if not bound:
            bound.append(Function(step))

    def handler(context: Any, event: Any) -> Any:
        init_context(context)
        return bound[0](context, event)

    return handler, init_context
