"""Mutated protocol files never crash or hang ``presshil check``: exit 0, or exit 2 with one line.

Bounded: a fixed number of examples, a per-example deadline that only a hang exceeds, and
pytest-timeout around each test.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from presshil.cli import app

LIBRARY = sorted(Path(__file__).resolve().parent.parent.joinpath("protocols").glob("*.toml"))
SEEDS = [p.read_text(encoding="utf-8") for p in LIBRARY]
NUMBER = re.compile(r"(?<![\w.])-?\d+(\.\d+)?([eE][-+]?\d+)?(?![\w.])")

nasty_numbers = st.sampled_from(
    [
        "0",
        "-1",
        "1e-40",
        "1e-200",
        "1e200",
        "1e308",
        "1.7976931348623157e308",
        "-0.0",
        "1e9",
        "1000000000",
        "4294967296",
        "9223372036854775807",
        "nan",
        "inf",
        "-inf",
        "1e-6",
        "0.0001",
        "3",
        '"74"',
        "true",
        "[]",
        "{}",
    ]
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A library protocol with a few mutations: numbers, lines, nesting, bytes."""
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["number", "number", "drop", "dup", "nest", "repeat", "byte"]))
        lines = text.splitlines()
        if kind == "number":
            spots = list(NUMBER.finditer(text))
            if spots:
                m = draw(st.sampled_from(spots))
                text = text[: m.start()] + draw(nasty_numbers) + text[m.end() :]
        elif kind in ("drop", "dup") and lines:
            i = draw(st.integers(0, len(lines) - 1))
            lines[i : i + 1] = [] if kind == "drop" else [lines[i], lines[i]]
            text = "\n".join(lines) + "\n"
        elif kind == "nest":
            depth = draw(st.sampled_from([5, 50, 500, 3000]))
            text += f"deep = {'[' * depth}{']' * depth}\n"
        elif kind == "repeat":
            depth = draw(st.sampled_from([2, 3, 30, 200]))
            count = draw(st.sampled_from(["2", "1000", "100000", "1000000000"]))
            body = ""
            for level in range(depth):
                prefix = ".".join(["steps"] * (level + 1))
                body += f'[[{prefix}]]\ntype = "repeat"\ncount = {count}\n'
            body += f'[[{".".join(["steps"] * (depth + 1))}]]\ntype = "hold"\nduration_s = 1.0\n'
            text += body
        elif kind == "byte" and text:
            i = draw(st.integers(0, len(text) - 1))
            text = (
                text[:i]
                + draw(st.sampled_from(["\x00", "[", "]", '"', "=", "\n", "é"]))
                + text[i + 1 :]
            )
    return text


def _check(tmp_path: Path, text: str) -> tuple[int, str]:
    path = tmp_path / "fuzzed.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(path)])
    return result.exit_code, result.output


@pytest.mark.timeout(600)
@settings(
    max_examples=300,
    deadline=timedelta(seconds=20),  # a hang, not load: check takes well under a second
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(text=mutated())
def test_every_mutated_protocol_is_exit_0_or_a_one_line_exit_2(tmp_path: Path, text: str) -> None:
    code, output = _check(tmp_path, text)
    assert "Traceback" not in output, output
    assert code in (0, 2), (code, output)
    if code == 2:  # check lists every problem, one line each, then the count of bad files
        lines = [line for line in output.splitlines() if line.strip()]
        assert lines[-1] == "1 of 1 file with errors", output
        assert lines[:-1] and all(line.startswith("error: ") for line in lines[:-1]), output


@pytest.mark.parametrize(
    ("mutation", "says"),
    [
        (("count = 100", "count = 1000000000"), "count"),
        (("die_diameter_mm = 10.0", "die_diameter_mm = 1e200"), "die_diameter_mm"),
        (("die_diameter_mm = 10.0", "die_diameter_mm = 1e-200"), "die_diameter_mm"),
        (("rate_hz = 0.2", "rate_hz = 1e-6"), "rate_hz"),
        (("duration_s = 3600", "duration_s = 1e308"), "duration_s"),
    ],
)
def test_the_reported_inputs_are_refused_with_a_message_naming_the_field(
    tmp_path: Path, mutation: tuple[str, str], says: str
) -> None:
    seed = next(s for s in SEEDS if mutation[0] in s)
    code, output = _check(tmp_path, seed.replace(mutation[0], mutation[1], 1))
    problems = [line for line in output.splitlines() if line.startswith("error: ")]
    assert code == 2 and says in output and len(problems) == 1, output


@pytest.mark.parametrize("depth", [200, 5000])
def test_deep_nesting_is_one_line_not_a_recursion_error(tmp_path: Path, depth: int) -> None:
    code, output = _check(tmp_path, SEEDS[0] + f"deep = {'[' * depth}{']' * depth}\n")
    assert code == 2 and "nested more than" in output, output
