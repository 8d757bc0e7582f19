"""Robustness sweeps: one protocol over a spread of simulated presses and cells, on Dask.

See ``docs/sweeps.md``. The command is ``presshil sweep``; the pieces:

* :mod:`.spec` — ``--vary KEY=SPEC`` and sweep files;
* :mod:`.variants` — seeded sampling (Latin hypercube, Sobol, grid), URLs, catalogue checks;
* :mod:`.execute` / :mod:`.worker` — the Dask side;
* :mod:`.book` — the sweep tables in the results store;
* :mod:`.stats` / :mod:`.report` — pass rates, margins, sensitivity; JSON, PNG, HTML.
"""

from __future__ import annotations

from .main import prepare, rerun_command, resume_sweep, start_sweep, summarise
from .spec import SweepError, SweepSpec, Vary, build_spec, load_sweep_file, parse_dist, parse_vary

__all__ = [
    "SweepError",
    "SweepSpec",
    "Vary",
    "build_spec",
    "load_sweep_file",
    "parse_dist",
    "parse_vary",
    "prepare",
    "rerun_command",
    "resume_sweep",
    "start_sweep",
    "summarise",
]
