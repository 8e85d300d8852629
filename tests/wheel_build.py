"""Building this repository's wheel for the tests that check what an installed package ships."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def build_wheel(outdir: Path) -> Path:
    """Build the wheel into ``outdir`` and return its path.

    ``--no-isolation`` builds with the hatchling of the dev environment (``[dev]`` extra), so no network
    is needed.
    """
    build = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(outdir), str(REPO)],
        check=False, capture_output=True, text=True, timeout=180,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = outdir.glob("*.whl")
    return wheel


def run_from(package_path: Path, code: str) -> str:
    """Run ``code`` in a fresh interpreter that sees only ``package_path`` (a wheel or an unpacked one).

    The checkout is neither on the path nor the working directory, so whatever the code finds comes from
    the package. Returns its stdout.
    """
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=package_path.parent,
        env={"PYTHONPATH": str(package_path), "PATH": "/usr/bin:/bin"},
    )
    return result.stdout
