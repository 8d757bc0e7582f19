"""A sweep on a real Dask cluster: a scheduler and two workers on 127.0.0.1, one killed mid-sweep.

Nothing may be lost (every variant recorded once, as an ordinary run) and the results must
equal those of a single-machine sweep of the same spec.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from wall_clock import wall_clock_fixture

from presshil.store import Store
from presshil.sweep import build_spec, parse_vary, start_sweep
from presshil.sweep.book import Book

DATA = Path(__file__).parent / "data"
DASK = [sys.executable, "-m", "dask"]  # the `dask` command of this interpreter
START_TIMEOUT_S = 90.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


@wall_clock_fixture()
def cluster(tmp_path):
    """``dask scheduler`` and two ``dask worker`` processes (no nanny: a killed worker stays dead)."""
    from distributed import Client

    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    logs = tmp_path / "logs"
    logs.mkdir()
    procs: list[subprocess.Popen] = []
    workers: dict[str, subprocess.Popen] = {}
    files = [open(logs / f"{name}.log", "w") for name in ("scheduler", "w1", "w2")]  # noqa: SIM115
    try:
        procs.append(subprocess.Popen(
            [*DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=subprocess.DEVNULL, stderr=files[0]))
        for i, name in enumerate(("w1", "w2"), start=1):
            p = subprocess.Popen(
                [*DASK, "worker", addr, "--name", name, "--nthreads", "1", "--no-nanny",
                 "--no-dashboard", "--host", "127.0.0.1", "--death-timeout", "60",
                 "--local-directory", str(tmp_path / name)],
                stdout=subprocess.DEVNULL, stderr=files[i])
            procs.append(p)
            workers[name] = p
        deadline = time.monotonic() + START_TIMEOUT_S
        client = None
        while client is None:
            try:
                client = Client(addr, timeout=5)
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"the Dask scheduler at {addr} did not start in {START_TIMEOUT_S} s")
        try:
            client.wait_for_workers(2, timeout=START_TIMEOUT_S)
            yield addr, client, workers
        finally:
            client.close()
    finally:
        _stop(procs)
        for f in files:
            f.close()


def _spec():
    # 12 variants in 6 batches; slow valves fail the hold, so both outcomes occur
    return build_spec(
        str(DATA / "sweep-hold.toml"), "sim://",
        [parse_vary("actuator.valve_time_constant_ms=20..300:6"),
         parse_vary("load_cells.gain_error_pct=-2,2")],
        runs=None, grid=True, seed=11, batch_size=2,
    )


def _results(db: Path, sweep_id: int) -> dict[int, tuple]:
    with Store(db) as store, Book(db) as book:
        out = {}
        for row in book.variants(sweep_id):
            assert row.run_id is not None, f"variant {row.index} has no run"
            info = store.get_run(row.run_id)
            verdicts = tuple((v.step, v.criterion, v.value, v.passed) for v in store.verdicts(row.run_id))
            out[row.index] = (row.url, info.status, info.n_samples, verdicts)
        return out


def test_sweep_survives_a_killed_worker_and_equals_the_local_result(cluster, tmp_path):
    addr, client, workers = cluster
    killed: list[tuple[str, int]] = []

    def kill_busy_worker(tally) -> None:
        if killed:
            return
        info = client.scheduler_info(n_workers=-1)["workers"]
        for address, keys in client.processing().items():
            if keys:
                name = info[address]["name"]
                workers[name].send_signal(signal.SIGKILL)
                workers[name].wait(timeout=10)
                killed.append((name, len(keys)))
                return

    spec = _spec()
    with Store(tmp_path / "cluster.sqlite") as store:
        distributed = start_sweep(spec, store, cluster=addr, on_progress=kill_busy_worker)
    assert killed, "no worker had a batch in flight after the first batch finished"
    assert killed[0][1] >= 1
    assert sum(p.poll() is None for p in workers.values()) == 1
    assert distributed.tally.done == 12

    with Store(tmp_path / "local.sqlite") as store:
        local = start_sweep(spec, store, n_workers=1)

    got = _results(tmp_path / "cluster.sqlite", distributed.sweep_id)
    want = _results(tmp_path / "local.sqlite", local.sweep_id)
    assert sorted(got) == list(range(12))
    assert got == want
    statuses = {v[1] for v in got.values()}
    assert statuses == {"passed", "failed"}
    # nothing recorded twice: one run per variant in the store
    with Store(tmp_path / "cluster.sqlite") as store:
        runs = store.list_runs()
    assert len(runs) == 12 and {r.status for r in runs} <= {"passed", "failed"}
