"""One map from an expected failure to its exit code, shared by every command."""

from __future__ import annotations

import pytest

from presshil.errors import (
    CapabilityError,
    ConfigError,
    PressURLError,
    ProtocolError,
    TransportError,
)
from presshil.status import user_error


@pytest.mark.parametrize(
    ("exc", "code", "line"),
    [
        (ProtocolError("bad key"), 2, "error: bad key"),
        (PressURLError("no such scheme"), 2, "error: no such scheme"),
        (ConfigError("no file"), 2, "error: no file"),
        (TransportError("link lost"), 3, "aborted: TransportError: link lost"),
        (CapabilityError("no STOP"), 3, "aborted: CapabilityError: no STOP"),
    ],
)
def test_expected_failures_map_to_pinned_exit_codes(exc: Exception, code: int, line: str) -> None:
    assert user_error(exc) == (code, line)


def test_a_bug_is_not_mapped() -> None:
    assert user_error(KeyError("x")) is None


def test_every_command_turns_an_expected_failure_into_its_line_and_code(capsys) -> None:
    """The CLI's handler and the acceptance entry points both go through the one map."""
    import typer

    from presshil.acceptance.commands import _failed
    from presshil.cli_common import user_errors
    from presshil.errors import TransportError

    for exc, code in ((ConfigError("no file"), 2), (TransportError("link lost"), 3)):
        with pytest.raises(typer.Exit) as info, user_errors():
            raise exc
        assert info.value.exit_code == code
        assert _failed(exc) == code
    err = capsys.readouterr().err
    assert err.count("error: no file") == 2 and err.count("aborted: TransportError: link lost") == 2


def test_exit_code_numbers_are_written_in_one_module() -> None:
    """No module but presshil.status assigns a number to an EXIT_* name."""
    import ast
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "src" / "presshil"
    own: list[str] = []
    for path in sorted(src.rglob("*.py")):
        if path.name == "status.py" and path.parent == src:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign):
                names = [t for t in node.targets if isinstance(t, ast.Name | ast.Tuple)]
                flat = [n for t in names for n in (t.elts if isinstance(t, ast.Tuple) else [t])]
                numbers = [v for v in ast.walk(node.value) if isinstance(v, ast.Constant) and isinstance(v.value, int)]
                if numbers and any(isinstance(n, ast.Name) and n.id.startswith("EXIT_") for n in flat):
                    own.append(f"{path.relative_to(src)}:{node.lineno}")
    assert own == []


def test_the_pinned_codes() -> None:
    from presshil.status import EXIT_ABORTED, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, RunStatus

    assert (EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_ABORTED) == (0, 1, 2, 3)
    assert {s.exit_code for s in RunStatus} == {EXIT_OK, EXIT_FAILED, EXIT_ABORTED}
