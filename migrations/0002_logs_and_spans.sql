-- logs: one row per OTel log record, a column for every field of the §1.1 JSON schema, so the §2.3 query
-- `SELECT * FROM logs WHERE correlation_id = '...' ORDER BY timestamp ASC` works as written.
-- spans: one row per span. Both are partitioned by UTC day (see 0001) for partition-drop retention.

CREATE TABLE logs (
    "timestamp"         timestamptz NOT NULL,
    observed_timestamp  timestamptz,
    level               text NOT NULL,
    severity_number     integer,
    service             text,
    stage               text,
    job_id              uuid,
    correlation_id      uuid,
    user_id_hash        text,
    latency_ms          double precision,
    cpu_seconds         double precision,
    error_code          text,
    error_stage         text,
    http_method         text,
    http_path           text,
    http_status         integer,
    message             text NOT NULL DEFAULT '',
    extra               jsonb,
    event_name          text,
    trace_id            text,
    span_id             text,
    attributes          jsonb,
    resource            jsonb,
    scope_name          text,
    dedup_key           uuid NOT NULL,
    -- A redelivered OTLP batch carries the same records: the sink's ON CONFLICT makes it a no-op.
    UNIQUE ("timestamp", dedup_key)
) PARTITION BY RANGE ("timestamp");
CREATE TABLE logs_default PARTITION OF logs DEFAULT;

CREATE INDEX idx_logs_correlation ON logs (correlation_id, "timestamp");
CREATE INDEX idx_logs_job ON logs (job_id, "timestamp");
CREATE INDEX idx_logs_trace ON logs (trace_id);
CREATE INDEX idx_logs_time ON logs ("timestamp" DESC);
CREATE INDEX idx_logs_errors ON logs (error_code, "timestamp" DESC) WHERE error_code IS NOT NULL;
CREATE INDEX idx_logs_event ON logs (event_name, "timestamp" DESC) WHERE event_name IS NOT NULL;

CREATE TABLE spans (
    trace_id        text NOT NULL,
    span_id         text NOT NULL,
    parent_span_id  text,
    name            text NOT NULL,
    kind            text,
    start_time      timestamptz NOT NULL,
    end_time        timestamptz,
    duration_ms     double precision,
    status_code     text,
    status_message  text,
    attributes      jsonb,
    events          jsonb,
    links           jsonb,
    resource        jsonb,
    service         text,
    scope_name      text,
    correlation_id  uuid,
    job_id          uuid,
    UNIQUE (start_time, trace_id, span_id)
) PARTITION BY RANGE (start_time);
CREATE TABLE spans_default PARTITION OF spans DEFAULT;

-- "All spans of this trace", by trace id or by its UUID spelling (correlation_id), and by job.
CREATE INDEX idx_spans_trace ON spans (trace_id, start_time);
CREATE INDEX idx_spans_correlation ON spans (correlation_id, start_time);
CREATE INDEX idx_spans_job ON spans (job_id, start_time);
CREATE INDEX idx_spans_time ON spans (start_time DESC);

-- Spans are for recent debugging; logs keep the same 90 days as error_events (§4.5 pattern analysis).
INSERT INTO retention_policy (table_name, time_column, keep, note) VALUES
    ('logs', 'timestamp', interval '90 days', 'same horizon as error_events (§4.5)'),
    ('spans', 'start_time', interval '30 days', 'traces are for recent incidents; logs keep the longer story');

SELECT ensure_daily_partitions('logs'), ensure_daily_partitions('spans');
