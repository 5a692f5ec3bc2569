"""Run a few long-lived processes in the foreground and stop them cleanly: what `make run` uses.

Each process runs in its own session, so the terminal's Ctrl-C reaches only this
supervisor. The supervisor then sends SIGTERM to each process's main pid alone (gunicorn's
master, Celery's main process), which stops its own children in order: Celery's warm
shutdown lets running tasks finish. Signalling the whole process group instead, as a
terminal or honcho does, kills Celery's pool processes under it, which Celery reports as
"ForkPoolWorker exited with signal 15" and replaces until it is killed.

A second Ctrl-C, or a process still running after `grace` seconds, gets SIGKILL. When one
process exits by itself, the others are stopped too, so a half-running stack never lingers.
"""
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field


def _die_with_parent() -> None:
    """In the child, before exec (Linux): get SIGTERM if the supervisor dies, even by SIGKILL."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@dataclass
class _Process:
    name: str
    argv: list[str]
    popen: subprocess.Popen | None = None
    reader: threading.Thread | None = None
    done: threading.Event = field(default_factory=threading.Event)


class Supervisor:
    def __init__(self, *, env: dict[str, str], grace: float = 30.0, out=None):
        self.env = env
        self.grace = grace
        self.out = out or sys.stdout
        self._processes: list[_Process] = []
        self._print_lock = threading.Lock()
        self._stop_requested = threading.Event()
        self._interrupts = 0
        self._width = 6

    def add(self, name: str, argv: list[str]) -> None:
        self._processes.append(_Process(name=name, argv=argv))
        self._width = max(self._width, len(name))

    def say(self, name: str, line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        with self._print_lock:
            self.out.write(f"{stamp} {name:<{self._width}} | {line}\n")
            self.out.flush()

    def _pump(self, process: _Process) -> None:
        for raw in process.popen.stdout:
            self.say(process.name, raw.decode("utf-8", "replace").rstrip("\n"))
        process.popen.wait()
        process.done.set()

    def _on_signal(self, signum, frame) -> None:
        self._interrupts += 1
        self._stop_requested.set()
        if self._interrupts > 1:
            self._kill_all()

    def run(self) -> int:
        """Start every process, wait for a signal or for one to exit, stop the rest. Returns the exit code."""
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        for process in self._processes:
            process.popen = subprocess.Popen(process.argv, env=self.env, stdout=subprocess.PIPE,
                                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                             start_new_session=True,
                                             preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        for process in self._processes:
            process.reader = threading.Thread(target=self._pump, args=(process,), daemon=True)
            process.reader.start()
        first_exit = None
        while not self._stop_requested.is_set():
            first_exit = next((p for p in self._processes if p.done.is_set()), None)
            if first_exit is not None:
                break
            self._stop_requested.wait(0.2)
        if first_exit is not None:
            self.say("system", f"{first_exit.name} exited with code {first_exit.popen.returncode}; "
                               "stopping the others")
        else:
            self.say("system", "stopping (Ctrl-C again to kill at once)")
        self._terminate_all()
        deadline = time.monotonic() + self.grace
        for process in self._processes:
            process.done.wait(max(0.0, deadline - time.monotonic()))
        stuck = [p for p in self._processes if not p.done.is_set()]
        if stuck:
            self.say("system", "still running after %ss, killed: %s" % (
                self.grace, ", ".join(p.name for p in stuck)))
            self._kill_all()
            for process in stuck:
                process.done.wait(5)
        for process in self._processes:
            process.reader.join(1)
        if first_exit is not None:
            return first_exit.popen.returncode or 1
        if stuck:
            return 1
        self.say("system", "stopped")
        return 0

    def _terminate_all(self) -> None:
        for process in self._processes:
            if process.popen and process.popen.poll() is None:
                try:
                    os.kill(process.popen.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

    def _kill_all(self) -> None:
        for process in self._processes:
            if process.popen and process.popen.poll() is None:
                try:
                    os.killpg(process.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
