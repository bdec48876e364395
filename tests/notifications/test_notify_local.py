"""A local run tells its notifiers how it ended: a real HTTP receiver (webhook, Slack) and a
real SMTP server take the messages; a notifier that fails never changes the run."""

from __future__ import annotations

import logging
import os
import socket

import pytest

import dagwright
from dagwright import Email, Slack, Webhook, component, pipeline
from dagwright.pipelines.ir import PipelineIR
from dagwright.redact import SecretWarning
from dagwright.store import RunDatabase


@component
def fine(x: int) -> int:
    return x + 1


@component
def boom(x: int, api_token: str) -> int:
    raise ValueError(f"bad input {x} with {api_token}\nsecond line of the error")


def _failing(notify: list, on: list[str] | None = None, link: str | None = None) -> object:
    @pipeline(name="nightly", notify=notify, on=on, link=link)
    def nightly(api_token: str = "tok-abcdef123456") -> None:
        first = fine(x=1)
        boom(x=first.output, api_token=api_token)

    return nightly


def _succeeding(notify: list, on: list[str] | None = None) -> object:
    @pipeline(name="daily", notify=notify, on=on)
    def daily() -> None:
        fine(x=1)

    return daily


def test_failed_run_tells_webhook_slack_and_email(tmp_path, http_receiver, smtp_receiver):
    notify = [
        Webhook(http_receiver.url + "/hook"),
        Slack(http_receiver.url + "/services/T0/B0/x"),
        Email(["ops@example.com", "ml@example.com"], smtp_receiver.address),
    ]
    result = dagwright.run(_failing(notify), root=tmp_path, echo=False)
    assert result.status == "failed"

    by_path = {r.path: r for r in http_receiver.received}
    body = by_path["/hook"].body
    assert body["pipeline"] == "nightly"
    assert body["run_id"] == result.run_id
    assert body["status"] == "failed"
    assert body["failed_steps"] == [
        {"task": "boom", "error": "ValueError: bad input 2 with ***"}
    ]  # first line only, the secret parameter's value masked
    assert body["link"] == f"http://127.0.0.1:8265/#/runs/{result.run_id}"
    assert by_path["/hook"].headers["Content-Type"] == "application/json"

    slack = by_path["/services/T0/B0/x"].body
    assert list(slack) == ["text"]  # Slack's incoming-webhook form
    assert "nightly failed" in slack["text"] and result.run_id in slack["text"]
    assert "- boom: ValueError: bad input 2 with ***" in slack["text"]
    assert "tok-abcdef123456" not in slack["text"]

    [(recipients, message)] = smtp_receiver.messages
    assert recipients == ["ops@example.com", "ml@example.com"]
    assert (
        " ".join(message["Subject"].split())
        == f"dagwright: pipeline nightly failed (run {result.run_id})"
    )
    text = message.get_content()
    assert "- boom: ValueError: bad input 2 with ***" in text
    assert f"#/runs/{result.run_id}" in text
    assert smtp_receiver.logins == []  # no credentials in the environment: no login


def test_only_the_statuses_asked_for_are_told(tmp_path, http_receiver):
    told = _succeeding([Webhook(http_receiver.url + "/ok")], on=["succeeded"])
    not_told = _succeeding([Webhook(http_receiver.url + "/default")])  # on: failed only
    assert dagwright.run(told, root=tmp_path, echo=False).succeeded
    assert dagwright.run(not_told, root=tmp_path, echo=False).succeeded
    assert [r.path for r in http_receiver.received] == ["/ok"]
    body = http_receiver.received[0].body
    assert body["status"] == "succeeded" and body["failed_steps"] == []


def test_link_given_is_filled_in(tmp_path, http_receiver):
    flow = _failing(
        [Webhook(http_receiver.url)], link="https://dash.example.com/{pipeline}/{run_id}"
    )
    result = dagwright.run(flow, root=tmp_path, echo=False)
    link = http_receiver.received[0].body["link"]
    assert link == f"https://dash.example.com/nightly/{result.run_id}"


def test_smtp_login_comes_from_the_environment(tmp_path, smtp_receiver, monkeypatch):
    monkeypatch.setenv("SMTP_USER", "ops")
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret-pw")
    email = Email("ops@example.com", smtp_receiver.address, user_env="SMTP_USER",
                  password_env="SMTP_PASSWORD")  # fmt: skip
    flow = _failing([email])
    assert "s3cret-pw" not in flow.ir.to_json()  # the IR names the variables only
    dagwright.run(flow, root=tmp_path, echo=False)
    assert smtp_receiver.logins == [("ops", "s3cret-pw")]
    assert len(smtp_receiver.messages) == 1


def test_starttls_then_login(tmp_path, tls_smtp_receiver, monkeypatch):
    monkeypatch.setenv("DAGWRIGHT_SMTP_USER", "ops")
    monkeypatch.setenv("DAGWRIGHT_SMTP_PASSWORD", "s3cret-pw")
    plain = Email("ops@example.com", tls_smtp_receiver.address)  # no STARTTLS: refused
    tls = Email("ml@example.com", tls_smtp_receiver.address, starttls=True)
    dagwright.run(_failing([plain, tls]), root=tmp_path, echo=False)
    assert tls_smtp_receiver.logins == [("ops", "s3cret-pw")]  # the server takes it over TLS only
    assert [to for to, _ in tls_smtp_receiver.messages] == [["ml@example.com"]]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens there once closed


def test_failing_notifiers_are_warnings_and_the_run_keeps_its_status(
    tmp_path, http_receiver, smtp_receiver, caplog, monkeypatch
):
    http_receiver.status = 500
    monkeypatch.setenv("SMTP_USER", "ops")
    monkeypatch.setenv("SMTP_PASSWORD", "wrong-password")
    host = http_receiver.url.removeprefix("http://")
    with pytest.warns(SecretWarning, match="alice:\\*\\*\\*@"):  # it would be in the spec
        with_password = Webhook(f"http://alice:hunter2-pw@{host}/error")  # answered 500
    notify = [
        Webhook(f"http://127.0.0.1:{_closed_port()}/refused"),
        with_password,
        Email(
            "ops@example.com",
            smtp_receiver.address,
            user_env="SMTP_USER",
            password_env="SMTP_PASSWORD",
        ),  # fmt: skip
        Slack(http_receiver.url + "/after"),  # still tried after the ones that failed
    ]
    with caplog.at_level(logging.WARNING, logger="dagwright.notifications"):
        result = dagwright.run(_succeeding(notify, on=["succeeded"]), root=tmp_path, echo=False)
    assert result.succeeded  # nobody could be told; the run is what it was
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 4, warnings
    assert "refused" in warnings[0].lower()
    assert "500" in warnings[1]
    assert "alice:***@" in warnings[1] and "hunter2-pw" not in caplog.text
    assert "authentication" in warnings[2].lower() or "535" in warnings[2]
    assert "/after" in warnings[3] and "500" in warnings[3]
    # the credentials of the URL went as HTTP basic auth, never in the path
    error = next(r for r in http_receiver.received if r.path == "/error")
    assert error.headers["Authorization"] == "Basic YWxpY2U6aHVudGVyMi1wdw=="
    db = RunDatabase(tmp_path / "runs.db")  # the run's record says so too
    try:
        assert db.find_run(result.run_id)["status"] == "succeeded"
    finally:
        db.close()


def test_a_notifier_that_does_not_answer_is_given_up_after_its_timeout(
    tmp_path, http_receiver, caplog
):
    http_receiver.delay = 3.0
    flow = _failing([Webhook(http_receiver.url + "/slow", timeout=0.5)])
    with caplog.at_level(logging.WARNING, logger="dagwright.notifications"):
        result = dagwright.run(flow, root=tmp_path, echo=False)
    assert result.status == "failed"  # the run's own status, not the notifier's
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "timed out" in warning and "/slow" in warning


def test_notify_survives_the_ir_round_trip(tmp_path, http_receiver):
    flow = _failing([Webhook(http_receiver.url + "/from-file")], on=["failed", "succeeded"])
    path = flow.ir.save(tmp_path / "nightly.json")
    loaded = PipelineIR.load(path)
    assert loaded.notify == flow.ir.notify
    result = dagwright.run(loaded, root=tmp_path, echo=False)
    assert [r.path for r in http_receiver.received] == ["/from-file"]
    assert http_receiver.received[0].body["run_id"] == result.run_id


def test_a_url_from_the_environment_stays_out_of_the_ir(tmp_path, http_receiver, monkeypatch):
    secret_url = http_receiver.url + "/services/T0/B0/s3cretT0ken"
    monkeypatch.setenv("SLACK_HOOK", secret_url)
    flow = _failing([Slack(url_env="SLACK_HOOK")])
    assert "s3cretT0ken" not in flow.ir.to_json()
    dagwright.run(flow, root=tmp_path, echo=False)
    assert [r.path for r in http_receiver.received] == ["/services/T0/B0/s3cretT0ken"]


def test_a_url_variable_not_set_is_a_warning(tmp_path, caplog, monkeypatch):
    monkeypatch.delenv("NO_SUCH_HOOK", raising=False)
    with caplog.at_level(logging.WARNING, logger="dagwright.notifications"):
        result = dagwright.run(
            _failing([Webhook(url_env="NO_SUCH_HOOK")]), root=tmp_path, echo=False
        )
    assert result.status == "failed"  # the step's failure, nothing else
    assert "NO_SUCH_HOOK" in caplog.text and "not set" in caplog.text


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Webhook("ftp://example.com/x"), "notify.webhook.url"),
        (lambda: Slack("hooks.slack.com/services/x"), "notify.slack.url"),
        (lambda: Webhook("https://example.com", timeout=60), "notify.timeout"),
        (lambda: Webhook(), "notify.webhook.url"),
        (lambda: Webhook("https://e.com", url_env="HOOK"), "notify.webhook.url"),
        (lambda: Slack(url_env="1X"), "notify.slack.url_env"),
        (lambda: Webhook("https://e.com", secret="hook"), "notify.webhook.url_env"),
        (lambda: Webhook(url_env="HOOK", secret="Not_A_Name"), "notify.webhook.secret"),
        (lambda: Email([], "smtp.example.com"), "notify.email.to"),
        (lambda: Email(["not-an-address"], "smtp.example.com"), "notify.email.to"),
        (lambda: Email("a@example.com", "smtp://u:p@host"), "notify.email.smtp"),
        (lambda: Email("a@example.com", "host:port"), "notify.email.smtp"),
        (
            lambda: Email("a@example.com", "h", password_env="p4ss word"),
            "notify.email.password_env",
        ),
        (lambda: pipeline(notify=[Webhook("https://e.com")], on=["failure"]), "on"),
        (lambda: pipeline(notify=[Webhook("https://e.com")], on=[]), "on"),
        (lambda: pipeline(notify="https://e.com"), "notify"),
        (lambda: pipeline(on=["failed"]), "notify"),
        (lambda: pipeline(notify=[Webhook("https://e.com")], link="https://d/{who}"), "link"),
        (lambda: dagwright.Pipeline("p", notify=[Webhook("https://e.com")], on="x"), "on"),
    ],
)
def test_bad_notifications_name_the_field_and_the_fix(make, field):
    with pytest.raises(dagwright.ValidationError) as caught:
        make()
    assert caught.value.field == field
    assert caught.value.fix


def test_a_bad_notify_in_an_ir_file_is_refused(tmp_path):
    data = _failing([Webhook("https://e.com")]).ir.to_dict()
    data["notify"]["on"] = ["sometimes"]
    with pytest.raises(dagwright.ValidationError) as caught:
        PipelineIR.from_dict(data)
    assert caught.value.field == "on"


def test_notifiers_of_a_pipeline_called_inside_another_are_not_told_and_it_says_so():
    inner = _succeeding([Webhook("https://hooks.example.com/inner")])

    @pipeline(name="outer")
    def outer() -> None:
        inner()

    with pytest.warns(UserWarning, match="its notifiers are not told"):
        ir = outer.ir
    assert ir.notify is None


def test_a_components_secret_from_the_secrets_file_is_masked_in_the_notification(
    tmp_path, http_receiver
):
    """A pod Secret's value (read from the secrets file for a local run) is one of the run's
    secrets, so a failing step that prints it reaches the notifier masked."""
    from dagwright import Secret

    @component(secrets=[Secret("db", "password", env="DB_PASSWORD")])
    def leaks(x: int) -> int:
        raise RuntimeError(f"login refused for {os.environ['DB_PASSWORD']}")

    @pipeline(name="leaky", notify=[Webhook(http_receiver.url + "/hook")], on=["failed"])
    def leaky() -> None:
        leaks(x=1)

    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text("DB_PASSWORD=pw-from-the-file-7c21\n")
    result = dagwright.run(leaky, root=tmp_path / "store", echo=False, secrets_file=secrets_file)
    assert result.status == "failed"
    [received] = http_receiver.received
    assert received.body["failed_steps"] == [
        {"task": "leaks", "error": "RuntimeError: login refused for ***"}
    ]
    assert "pw-from-the-file-7c21" not in str(received.body)


def test_a_literal_slack_webhook_url_is_a_credential_warned_of_and_never_logged(
    caplog, monkeypatch
):
    # a Slack incoming webhook's URL is its credential (its path is the token): declared
    # literally it would be stored in the spec, so it is warned of like a URL with a password,
    # and a notifier that fails names it without the token
    token_url = "https://hooks.slack.com/services/T0123/B0456/s3cretSlackT0ken"
    with pytest.warns(SecretWarning, match="url_env"):
        slack = Slack(token_url, timeout=0.5)
    assert "s3cretSlackT0ken" not in slack.shown()
    assert slack.shown().startswith("slack https://hooks.slack.com/")
    import dagwright.notifications.send as send
    from dagwright.notifications.message import RunEnd
    from dagwright.pipelines.notify import Notification

    def refused(url: str, body: dict, timeout: float) -> None:  # no request leaves the test
        raise ConnectionRefusedError("Connection refused")

    monkeypatch.setattr(send, "_post", refused)
    end = RunEnd("nightly", "r-1", "failed", (), None)
    with caplog.at_level(logging.WARNING, logger="dagwright.notifications"):
        problems = send.send_all(Notification([slack]), end, {})
    assert problems and "s3cretSlackT0ken" not in " ".join(problems)
    assert "s3cretSlackT0ken" not in caplog.text
