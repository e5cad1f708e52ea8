"""The compiled kernel is cached in the user's cache folder, never in the package folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import doseflow

PROGRAM = """
import json, os
from doseflow.impact import AgeBands, RateRollout, country_scenario, simulate
from doseflow.impact import kernel
sc = country_scenario("NGA", bands=AgeBands.uniform(20, 60), horizon_days=10,
                      rollout=RateRollout(0.01, 0.1))
simulate([sc])
print(json.dumps({"path": kernel.integrate_range._cache._cache_path}))
"""


def test_kernel_cache_is_written_under_the_user_cache(tmp_path: Path) -> None:
    package = Path(doseflow.__file__).parent.resolve()
    before = {p: p.stat().st_mtime_ns for p in package.rglob("*.nb[ic]")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CACHE")}
    env.pop("DOSEFLOW_CACHE_DIR", None)
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    env["PYTHONPATH"] = str(package.parent)
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, check=True
    )
    path = Path(json.loads(done.stdout.strip().splitlines()[-1])["path"]).resolve()
    assert path.is_relative_to(tmp_path / "xdg" / "doseflow" / "numba")
    assert list(path.glob("kernel.integrate_range-*.nbi"))  # written there
    after = {p: p.stat().st_mtime_ns for p in package.rglob("*.nb[ic]")}
    assert after == before  # nothing new or rewritten in the package folder
