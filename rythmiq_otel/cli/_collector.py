"""Subcommands of the collector area (placeholder until that area registers its commands)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Register this area's subcommands."""
