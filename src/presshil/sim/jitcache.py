"""Keep numba's on-disk cache honest across modules.

numba keys a cached function by the source file that defines it. The kernel inlines
functions from sibling modules and reads layout constants from :mod:`presshil.sim.layout`;
edit one of those and numba would happily load a kernel compiled against the old code. This
guard hashes every source file of the simulator package and, when the hash differs from the
one stored beside the cache, deletes the simulator's cache files before anything compiles.
Installed users never notice (an install rewrites every file); developers are spared a
class of baffling bugs.
"""

from __future__ import annotations

import hashlib
import types
from pathlib import Path

from numba import njit

_DIGEST_NAME = "presshil-sim-sources.sha256"


def _source_digest(package_dir: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(package_dir.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def refresh_stale_cache(modules: list[types.ModuleType]) -> None:
    """Drop cached compilations of ``modules`` if any simulator source changed since."""
    package_dir = Path(__file__).parent
    cache_dirs: set[Path] = set()
    for module in modules:
        for obj in vars(module).values():
            cache = getattr(obj, "_cache", None)
            path = getattr(cache, "_cache_path", None)
            if path:
                cache_dirs.add(Path(path))
    if not cache_dirs:  # JIT disabled (NUMBA_DISABLE_JIT=1) or caching off
        return
    digest = _source_digest(package_dir)
    stems = {m.__name__.rsplit(".", 1)[-1] for m in modules}
    for cache_dir in cache_dirs:
        stamp = cache_dir / _DIGEST_NAME
        try:
            if stamp.read_text().strip() == digest:
                continue
        except OSError:
            pass
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            for f in cache_dir.iterdir():
                if f.suffix in (".nbi", ".nbc") and f.name.split(".", 1)[0] in stems:
                    f.unlink(missing_ok=True)
            stamp.write_text(digest + "\n")
        except OSError:  # a read-only cache location: numba will not write there either
            pass


#: the decorator of every simulator kernel function: compiled, cached on disk, and with
#: numpy's floating-point error model (a division by zero gives inf, it does not raise —
#: which also spares the per-division checks in the 1 kHz loop)
jit = njit(cache=True, error_model="numpy")
