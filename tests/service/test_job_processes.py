"""Several real server processes on one PostgreSQL database share the job queue (issue 11).

Two uvicorn processes on 127.0.0.1 serve the same schema with short heartbeats (0.25 s) and
stale timeout (2 s). Jobs submitted to both are each run exactly once, by either process,
and none is taken for abandoned while its worker lives; then the process running a job is
killed (SIGKILL) and the survivor re-runs that job after the timeout, not before. Last,
``doseflow serve --workers 2`` itself starts two workers on the database and runs an impact
run submitted through it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from doseflow.store.database import open_database
from doseflow.store.service import issue_token
from doseflow.store.service_jobs import Job, JobStatus, get_job
from tests.service.scenario import NAME, scenario_document

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
FAST_JOBS = {
    "DOSEFLOW_JOB_THREADS": "2",
    "DOSEFLOW_JOB_POLL_SECONDS": "0.1",
    "DOSEFLOW_JOB_HEARTBEAT_SECONDS": "0.25",
    "DOSEFLOW_JOB_STALE_SECONDS": "2",
    "DOSEFLOW_JOB_MAX_PER_USER": "40",
    "DOSEFLOW_JOB_MAX_TOTAL": "40",
}


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str

    @property
    def pid(self) -> int:
        return self.process.pid


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _environment(url: str, log: Path) -> dict[str, str]:
    path = os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {
        **os.environ,
        **FAST_JOBS,
        "DOSEFLOW_DB": url,
        "DOSEFLOW_TEST_PROBE_LOG": str(log),
        "PYTHONPATH": path,
    }


def _wait_until_up(process: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server at {base} exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server at {base} did not start")


def _start(commands: list[tuple[list[str], int]], env: dict[str, str]) -> list[Server]:
    """Start every command at once (they import and connect in parallel), then wait for
    each to answer on its port."""
    servers = [
        Server(subprocess.Popen(command, env=env, cwd=ROOT), f"http://127.0.0.1:{port}")
        for command, port in commands
    ]
    try:
        for server in servers:
            _wait_until_up(server.process, server.base)
    except RuntimeError:
        for server in servers:
            server.process.kill()
            server.process.wait(timeout=10)
        raise
    return servers


def _uvicorn(port: int) -> tuple[list[str], int]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "tests.service.job_servers:app_from_environment",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return command, port


def _stop(servers: list[Server]) -> None:
    for server in servers:
        if server.process.poll() is None:
            server.process.terminate()
    for server in servers:
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


@pytest.fixture
def database(pg_url: str) -> Iterator[tuple[str, Engine, str]]:
    engine = open_database(pg_url)
    token = issue_token(engine, role="administrator", user="ops").token
    yield pg_url, engine, token
    engine.dispose()


def _wait_finished(engine: Engine, ids: list[str], timeout: float) -> list[Job]:
    deadline = time.monotonic() + timeout
    while True:
        jobs = [get_job(engine, job_id) for job_id in ids]
        if all(job.finished for job in jobs):
            return jobs
        if time.monotonic() > deadline:
            pytest.fail(f"jobs unfinished after {timeout} s: {[j.status for j in jobs]}")
        time.sleep(0.1)


def _pid(job: Job) -> int:
    assert job.claimed_by is not None
    return int(job.claimed_by.split(":")[1])


def _runs(log: Path) -> Counter[tuple[str, str]]:
    """(event, tag) -> how many times it happened, from the probes' log."""
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return Counter((line.split()[0], line.split()[1]) for line in lines)


def test_two_server_processes_share_the_queue_and_recover_a_killed_ones_job(
    database: tuple[str, Engine, str], tmp_path: Path
) -> None:
    url, engine, token = database
    log = tmp_path / "probes.log"
    env = _environment(url, log)
    auth = {"Authorization": f"Bearer {token}"}
    servers = _start([_uvicorn(_free_port()), _uvicorn(_free_port())], env)
    try:
        # 1. jobs submitted to both servers: each runs once, somewhere, and none is abandoned
        ids: list[str] = []
        for n in range(16):
            server = servers[n % 2]
            answer = httpx.post(
                f"{server.base}/api/test/probes",
                json={"tag": f"p{n}", "seconds": 0.4},
                headers=auth,
                timeout=10,
            )
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["id"])
        jobs = _wait_finished(engine, ids, timeout=40)
        assert [j.status for j in jobs] == [JobStatus.SUCCEEDED] * 16
        assert all(j.errors is None and j.attempts == 1 for j in jobs)
        assert {_pid(j) for j in jobs} == {s.pid for s in servers}  # both took part
        runs = _runs(log)
        for n in range(16):
            assert (runs[("start", f"p{n}")], runs[("end", f"p{n}")]) == (1, 1)
        # the job read through either server is the same
        other = httpx.get(f"{servers[1].base}/api/impact-runs/{ids[0]}", headers=auth)
        assert other.json()["status"] == "succeeded"
        assert other.json()["result"]["tag"] == "p0"

        # 2. the process running a job is killed: the survivor re-runs it after the timeout
        answer = httpx.post(
            f"{servers[0].base}/api/test/probes",
            json={"tag": "victim", "seconds": 3.0},
            headers=auth,
            timeout=10,
        )
        victim = answer.json()["id"]
        deadline = time.monotonic() + 20
        while _runs(log)[("start", "victim")] == 0:
            assert time.monotonic() < deadline, "the victim job never started"
            time.sleep(0.05)
        owner = _pid(get_job(engine, victim))
        dead = next(s for s in servers if s.pid == owner)
        survivor = next(s for s in servers if s.pid != owner)
        dead.process.send_signal(signal.SIGKILL)
        dead.process.wait(timeout=10)
        time.sleep(0.5)  # well inside the stale timeout: nobody has touched the job
        held = get_job(engine, victim)
        assert (held.status, _pid(held), held.attempts) == (JobStatus.RUNNING, owner, 1)
        done = _wait_finished(engine, [victim], timeout=30)[0]
        assert done.status is JobStatus.SUCCEEDED
        assert done.errors is None
        assert (done.attempts, _pid(done)) == (2, survivor.pid)
        assert done.result == {"tag": "victim", "pid": survivor.pid}
        runs = _runs(log)
        assert (runs[("start", "victim")], runs[("end", "victim")]) == (2, 1)
        # the survivor keeps serving and running jobs
        late = httpx.post(
            f"{survivor.base}/api/test/probes",
            json={"tag": "late", "seconds": 0},
            headers=auth,
            timeout=10,
        )
        assert _wait_finished(engine, [late.json()["id"]], 20)[0].status is JobStatus.SUCCEEDED
    finally:
        _stop(servers)


def test_doseflow_serve_with_two_workers_runs_an_impact_job(
    database: tuple[str, Engine, str], tmp_path: Path
) -> None:
    url, engine, token = database
    env = _environment(url, tmp_path / "unused.log")
    port = _free_port()
    command = [
        sys.executable,
        "-c",
        "from doseflow.cli.app import main; main()",
        "serve",
        "--db",
        url,
        "--port",
        str(port),
        "--workers",
        "2",
        "--log-level",
        "warning",
    ]
    (server,) = _start([(command, port)], env)
    try:
        auth = {"Authorization": f"Bearer {token}"}
        stored = httpx.post(
            f"{server.base}/api/scenarios", json=scenario_document(), headers=auth, timeout=30
        )
        assert stored.status_code in (200, 201), stored.text
        started = httpx.post(
            f"{server.base}/api/scenarios/{NAME}/impact-runs",
            json={"round": 1, "horizon_days": 30, "levels": 2},
            headers=auth,
            timeout=30,
        )
        assert started.status_code == 202, started.text
        done = _wait_finished(engine, [started.json()["id"]], timeout=40)[0]
        assert done.status is JobStatus.SUCCEEDED, done.errors
        assert done.attempts == 1
        refused = httpx.post(
            f"{server.base}/api/scenarios/{NAME}/impact-runs",
            json={"round": 99},
            headers=auth,
            timeout=30,
        )
        assert refused.status_code == 422
        assert refused.json()["code"] == "ALLOC_UNKNOWN_ROUND"
    finally:
        _stop([server])
