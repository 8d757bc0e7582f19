"""Damaged results stores, one page at a time: what `runs` and `export` still give, counted.

    python3 benchmarks/campaign_store.py [--runs 4] [--rows 2000] [--seed 1] [--max-s 400]

One store of ``--runs`` runs is written, each run exported while the file is sound (the
truth). Then, for every page of the file in turn, a copy has that page overwritten (with the
fill byte 0xA5, and again with random bytes) and ``presshil runs`` and ``presshil export``
of every run are run on the copy. Counted per fill:

- cases (damaged copies) and commands run;
- tracebacks (in any command's output) and other exit codes than 0 and 2;
- silent wrong values: a run listed as intact, or exported with exit 0, whose CSV differs
  from the truth — the number that must be 0;
- copies written to (the file's hash changed by a read command) — must be 0;
- runs kept: of all runs of all copies, how many were listed and exported whole; a copy
  whose schema page is damaged keeps none.

Bounded in count (pages × fills) and time (``--max-s``; the row says if it stopped early).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from typer.testing import CliRunner

from presshil.cli import app
from presshil.store import Store

PAGE = 4096


class FakeProtocol:
    name = "campaign"
    source = "protocols/campaign.toml"
    text = 'name = "campaign"\n'
    sha256 = "cd" * 32


def build(path: Path, runs: int, rows: int, rng: random.Random) -> None:
    with Store(path) as store:
        for run in range(runs):
            run_id = store.start_run(protocol=FakeProtocol(), press_url="sim://", identity={},
                                     seed=run, meta={"n": str(run)})
            for i in range(rows):
                p = rng.uniform(0, 100)
                store.add_sample(run_id, (0.01 * i, p, p + rng.gauss(0, 0.1), rng.uniform(0, 50),
                                          rng.uniform(0, 1), 7, (rng.random(), rng.random())))
            store.add_event(run_id, 0.0, "note", f"run {run_id}")
            store.finish_run(run_id, "passed")


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-s", type=float, default=400.0)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    t_end = time.monotonic() + args.max_s
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        sound = tmp / "sound.sqlite"
        build(sound, args.runs, args.rows, rng)
        truth = {}
        for run in range(1, args.runs + 1):
            code, out = cli("export", str(run), "--db", str(sound), "-o", str(tmp / "t.csv"))
            assert code == 0, out
            truth[run] = (tmp / "t.csv").read_bytes()
        data = sound.read_bytes()
        pages = len(data) // PAGE
        print(f"store: {args.runs} runs x {args.rows} samples, {pages} pages of {PAGE} B")
        print("fill    cases commands tracebacks other-exits silent-wrong written kept/total")
        for fill in ("0xA5", "random"):
            cases = commands = tracebacks = other = wrong = written = kept = total = 0
            stopped = ""
            for page in range(pages):
                if time.monotonic() > t_end:
                    stopped = f" (stopped at the time bound after {cases} pages)"
                    break
                copy = tmp / "copy.sqlite"
                for extra in tmp.glob("copy.sqlite*"):
                    extra.unlink()
                shutil.copyfile(sound, copy)
                junk = b"\xa5" * PAGE if fill == "0xA5" else rng.randbytes(PAGE)
                with copy.open("r+b") as fh:
                    fh.seek(page * PAGE)
                    fh.write(junk)
                before = hashlib.sha256(copy.read_bytes()).hexdigest()
                cases += 1
                code, out = cli("runs", "--db", str(copy))
                commands += 1
                tracebacks += "Traceback" in out
                other += code not in (0, 2)
                listed = {int(m) for m in re.findall(r"^\s+id=(\d+)\b", out, re.M)}
                for run in range(1, args.runs + 1):
                    total += 1
                    target = tmp / "e.csv"
                    target.unlink(missing_ok=True)
                    code, out = cli("export", str(run), "--db", str(copy), "-o", str(target))
                    commands += 1
                    tracebacks += "Traceback" in out
                    other += code not in (0, 2)
                    exported = code == 0 and target.exists()
                    if (exported or run in listed) and (not exported or target.read_bytes() != truth[run]):
                        wrong += 1  # listed or exported, and not the truth
                    kept += exported and run in listed
                written += hashlib.sha256(copy.read_bytes()).hexdigest() != before
            print(f"{fill:<7} {cases:>5} {commands:>8} {tracebacks:>10} {other:>11} "
                  f"{wrong:>12} {written:>7} {kept:>5}/{total}{stopped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
