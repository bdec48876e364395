"""The step-output routers never write into themselves, whatever stream they were put over.

Each case runs in a fresh interpreter with a time limit: the failure this guards against is a
write that loops forever (rich's live display had redirected stderr through a proxy printing on
a console that looked ``sys.stderr`` up again, which was the router over that proxy).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from terminal_pty import REPO


def run_script(source: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)],
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_router_over_richs_redirecting_proxy_writes_once() -> None:
    proc = run_script(
        """
        import sys, threading
        from rich.console import Console
        from rich.live import Live
        from dagwright.runtimes.capture import captured

        live = Live(console=Console(stderr=True, force_terminal=True), auto_refresh=False)
        live.start()  # sys.stdout and sys.stderr are rich FileProxies now
        got = {}

        def step():
            with captured() as buffers:
                print("inside the step")
                got.update({k: v.getvalue() for k, v in buffers.items()})

        thread = threading.Thread(target=step)
        thread.start()
        thread.join()
        print("outside on stderr", file=sys.stderr)
        print("outside on stdout")
        sys.stderr.flush()
        live.stop()
        sys.__stdout__.write(repr(got) + "\\n")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert "{'stdout': 'inside the step\\n', 'stderr': ''}" in proc.stdout
    assert proc.stdout.count("outside on stdout") == 1
    assert proc.stderr.count("outside on stderr") == 1


def test_a_stream_that_writes_back_into_the_router_goes_to_the_real_one() -> None:
    proc = run_script(
        """
        import sys
        from dagwright.runtimes.capture import captured

        class Through:
            '''Writes through whatever sys.stdout is at the time, as some proxies do.'''
            def write(self, text):
                return sys.stdout.write(text)
            def flush(self):
                sys.stdout.flush()
            def isatty(self):
                return False

        sys.stdout = Through()
        with captured():
            pass  # installs the routers over Through
        print("once")
        sys.stdout.flush()
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "once\n"
