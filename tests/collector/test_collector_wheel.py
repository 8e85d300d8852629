"""An installed wheel ships the collector configs and the tooling finds them there, not in a checkout."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from rythmiq_otel.store.collector import VARIANTS, collector_dir
from tests.wheel_build import REPO, build_wheel, run_from


def test_the_checkout_finds_the_top_level_collector_directory() -> None:
    assert collector_dir() == REPO / "collector"


@pytest.mark.slow
def test_an_installed_wheel_ships_and_finds_every_config(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "dist")
    site = tmp_path / "site-packages"
    zipfile.ZipFile(wheel).extractall(site)  # what installing the wheel puts on disk
    code = (
        "import rythmiq_otel.store.collector as c\n"
        "print(c.manifest_path())\n"
        "for variant in c.VARIANTS: print(*c.config_files(variant))\n"
    )
    paths = [Path(word) for word in run_from(site, code).split()]
    shipped = site / "rythmiq_otel" / "_collector"
    assert len(paths) == 1 + sum(len(files) for files in VARIANTS.values())
    assert all(path.is_relative_to(shipped) and path.is_file() for path in paths), paths
