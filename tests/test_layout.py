"""The package's shape is part of the design: two halves that never import each other, two shared
standard-library-only modules, and a small public surface where every name resolves."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import rythmiq_otel
import rythmiq_otel.distro

PACKAGE = Path(rythmiq_otel.__file__).parent
SHARED_MODULES = ("vocab.py", "pii.py", "_pii_values.py")


def _imported_modules(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def _sources(subpackage: str) -> list[Path]:
    return sorted((PACKAGE / subpackage).rglob("*.py"))


@pytest.mark.parametrize(
    ("half", "forbidden"),
    [
        ("store", "rythmiq_otel.distro"),
        ("distro", "rythmiq_otel.store"),
        # the operator console reads the store; it never loads the in-process half, and neither half needs it
        ("console", "rythmiq_otel.distro"),
        ("store", "rythmiq_otel.console"),
        ("distro", "rythmiq_otel.console"),
    ],
)
def test_halves_never_import_each_other(half: str, forbidden: str) -> None:
    """A package that does not exist yet has no sources, so the rule holds from before it is written."""
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in _sources(half)
        for name in _imported_modules(path)
        if name == forbidden or name.startswith(forbidden + ".")
    ]
    assert offenders == []


@pytest.mark.parametrize("module", SHARED_MODULES)
def test_shared_modules_use_only_the_standard_library(module: str) -> None:
    allowed = set(sys.stdlib_module_names) | {"rythmiq_otel"}
    names = list(_imported_modules(PACKAGE / module))
    outside = [name for name in names if name.split(".")[0] not in allowed]
    shared = {"rythmiq_otel.vocab", "rythmiq_otel._pii_values"}
    outside += [name for name in names if name.startswith("rythmiq_otel") and name not in shared]
    assert outside == []


def test_importing_the_store_half_does_not_load_the_sdk() -> None:
    code = (
        "import sys, rythmiq_otel, rythmiq_otel.store, rythmiq_otel.vocab, rythmiq_otel.pii\n"
        "prefixes = ('opentelemetry.sdk', 'rythmiq_otel.distro')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(prefixes))\n"
        "print(loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_distro_groups_its_modules_into_subpackages() -> None:
    """Only the public surface and the pieces every wing shares sit at the top of ``distro/``."""
    top = sorted(path.name for path in (PACKAGE / "distro").glob("*.py"))
    assert top == ["__init__.py", "_background.py", "_pii.py"]
    wings = sorted(path.parent.name for path in (PACKAGE / "distro").glob("*/__init__.py"))
    assert wings == ["context", "logs", "metrics", "services", "setup"]


def test_distro_public_names_all_resolve() -> None:
    assert rythmiq_otel.distro.__all__ == sorted(rythmiq_otel.distro._EXPORTS)
    for name in rythmiq_otel.distro.__all__:
        assert getattr(rythmiq_otel.distro, name) is not None, name


def test_top_level_package_reexports_the_distro_surface() -> None:
    assert sorted(rythmiq_otel._DISTRO_EXPORTS) == rythmiq_otel.distro.__all__
    assert rythmiq_otel.configure is rythmiq_otel.distro.configure
