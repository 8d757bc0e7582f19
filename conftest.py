"""Root conftest: test-suite-wide setup.

``pytester`` drives the plugin's own tests end to end; ``pytest_plugins`` must be declared
here, in the root conftest.
"""

from __future__ import annotations

import sys
from pathlib import Path

pytest_plugins = ["pytester"]

# the shared Press contract suite (tests/press_contract.py) is imported by name from
# tests/ and benchmarks/
sys.path.insert(0, str(Path(__file__).parent / "tests"))
