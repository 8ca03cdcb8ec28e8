"""Distributed tuning on one machine: a keras-tuner chief and N workers over loopback.

`run_distributed(search, workers=N)` starts `python -m keras_genzoo.tuning.worker
SEARCH_JSON` once as the chief (`KERASTUNER_TUNER_ID=chief`, which serves the oracle
and runs no trial) and N times as workers (`tuner0` ... `tuner<N-1>`), all with
`KERASTUNER_ORACLE_IP=127.0.0.1` and a free `KERASTUNER_ORACLE_PORT`, sharing the
search directory. Every wait is bounded and every process is killed on the way out.
Each process's output goes to `<directory>/logs/<project_name>/<tuner id>.log`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

from keras_genzoo.tuning.space import TuningError

ORACLE_IP = "127.0.0.1"
CHIEF_ID = "chief"
DEFAULT_TIMEOUT = 6 * 3600.0
CHIEF_START_TIMEOUT = 300.0


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((ORACLE_IP, 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((ORACLE_IP, port)) == 0


def _tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def run_distributed(search: dict[str, Any], *, workers: int, timeout: float | None = None) -> None:
    """Run `search` (the arguments of `tune`, as JSON) as a chief and `workers` workers.

    Returns when every process has exited successfully; a failed process, or the
    `timeout` (seconds, default six hours) running out, raises `TuningError`.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise TuningError(f"distributed must be a positive number of workers, got {workers!r}.")
    timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
    log_dir = os.path.join(search["directory"], "logs", search["project_name"])
    os.makedirs(log_dir, exist_ok=True)
    handle, spec_path = tempfile.mkstemp(suffix=".json", prefix="search-")
    with os.fdopen(handle, "w", encoding="utf-8") as f:
        json.dump(search, f)
    port = free_port()
    processes: dict[str, subprocess.Popen] = {}
    logs: dict[str, str] = {}

    def start(tuner_id: str) -> None:
        env = {**os.environ, "KERASTUNER_TUNER_ID": tuner_id,
               "KERASTUNER_ORACLE_IP": ORACLE_IP, "KERASTUNER_ORACLE_PORT": str(port)}
        logs[tuner_id] = os.path.join(log_dir, f"{tuner_id}.log")
        with open(logs[tuner_id], "w", encoding="utf-8") as log:
            processes[tuner_id] = subprocess.Popen(
                [sys.executable, "-m", "keras_genzoo.tuning.worker", spec_path],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )

    def check(tuner_id: str) -> None:
        code = processes[tuner_id].poll()
        if code not in (None, 0):
            raise TuningError(
                f"Tuning process {tuner_id!r} exited with status {code}; the end of its log "
                f"{logs[tuner_id]}:\n{_tail(logs[tuner_id])}"
            )

    deadline = time.monotonic() + timeout
    try:
        start(CHIEF_ID)
        chief_deadline = min(deadline, time.monotonic() + CHIEF_START_TIMEOUT)
        while not _listening(port):
            check(CHIEF_ID)
            if processes[CHIEF_ID].poll() == 0:
                raise TuningError(f"The chief exited before serving; see {logs[CHIEF_ID]}.")
            if time.monotonic() > chief_deadline:
                raise TuningError(f"The chief did not listen on port {port} in time; see {logs[CHIEF_ID]}.")
            time.sleep(0.5)
        for index in range(workers):
            start(f"tuner{index}")
        while any(p.poll() is None for p in processes.values()):
            for tuner_id in processes:
                check(tuner_id)
            if time.monotonic() > deadline:
                raise TuningError(f"Distributed tuning did not finish within {timeout:.0f} s.")
            time.sleep(1.0)
        for tuner_id in processes:
            check(tuner_id)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        os.remove(spec_path)
