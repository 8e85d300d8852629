"""A small but real Rythmiq One, instrumented only through the spec's calls.

``api`` (FastAPI) takes jobs and hands a §2.2 payload to ``camber``, a local stand-in for the job platform,
which runs ``worker`` with the payload on STDIN and POSTs the signed result to ``webhook`` (FastAPI), which
finishes the job. ``run.start_system()`` starts all of it as real processes; ``python -m examples.run``
does the same from a shell. See ``docs/correlation.md``.
"""
