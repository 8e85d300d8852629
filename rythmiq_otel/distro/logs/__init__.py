"""The log path: the spec's logger API, the root handler, each record's fields (context, PII scrub, schema
conformance), the §1.1 JSON line on stdout, the same event as an OTel log record, and uvicorn's loggers."""
