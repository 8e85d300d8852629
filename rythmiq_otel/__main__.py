"""``python -m rythmiq_otel`` runs the ``rythmiq-otel`` command."""

from rythmiq_otel.cli import main

raise SystemExit(main())
