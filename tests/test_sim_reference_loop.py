"""The naive benchmark baseline computes the same model as the kernel."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from presshil.sim.catalogue import load_press, load_specimen
from presshil.sim.layout import N_TICK, X_FORCE_N, X_MEAS_P_MPA
from presshil.sim.model import SimModel
from presshil.sim.reference_loop import NaiveModel, run_scenario


def _run(model_cls: type[SimModel]) -> SimModel:
    model = model_cls(load_press(None)[0], load_specimen(None)[0], seed=1, fidelity="full")
    model.regulate(20.0, 10.0)
    for k in range(1, 101):
        model.advance_to(0.02 * k)
        model.heartbeat()
    return model


def test_one_event_per_tick_reproduces_the_kernel() -> None:
    kernel_model = _run(SimModel)
    naive = _run(NaiveModel)
    # the event loop's summed 1 ms timeouts drift by a tick against k * dt: align the two
    while naive.n[N_TICK] < kernel_model.n[N_TICK]:
        naive.env.step()
    if kernel_model.n[N_TICK] < naive.n[N_TICK]:
        kernel_model.sync(int(naive.n[N_TICK] - 1) * kernel_model.dt)
    assert naive.n[N_TICK] == kernel_model.n[N_TICK]
    # the same tick function on the same state: bit for bit
    assert naive.x[X_FORCE_N] == kernel_model.x[X_FORCE_N]
    assert naive.x[X_MEAS_P_MPA] == kernel_model.x[X_MEAS_P_MPA]


@pytest.mark.slow
def test_pure_python_baseline_runs() -> None:
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    out = subprocess.run(
        [sys.executable, "-m", "presshil.sim.reference_loop", "assembly", "0.2"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["ticks"] == 200 and figures["wall_s"] > 0


def test_unknown_scenario() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        run_scenario("picnic", 1.0)
