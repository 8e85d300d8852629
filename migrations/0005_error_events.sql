-- error_events and error_events_daily exactly as spec §4.3, plus correlation_id (to jump from an error to
-- its whole trace). The sink sets `id` deterministically (uuid5 of the source record) so a redelivered
-- record conflicts on the primary key instead of duplicating.

CREATE TABLE IF NOT EXISTS error_events (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id UUID NOT NULL,
    error_code TEXT NOT NULL,
    error_stage TEXT NOT NULL,
    processing_path TEXT,
    quality_score FLOAT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    correlation_id UUID
);

CREATE INDEX idx_error_events_code ON error_events(error_code, created_at DESC);
CREATE INDEX idx_error_events_job ON error_events(job_id);
CREATE INDEX idx_error_events_time ON error_events(created_at DESC);
CREATE INDEX idx_error_events_correlation ON error_events(correlation_id);

-- Aggregation view
CREATE MATERIALIZED VIEW error_events_daily AS
SELECT
    date_trunc('day', created_at) AS day,
    error_code,
    error_stage,
    COUNT(*) AS count
FROM error_events
GROUP BY day, error_code, error_stage;

-- Not in §4.3: REFRESH ... CONCURRENTLY needs a unique index.
CREATE UNIQUE INDEX idx_error_events_daily_key ON error_events_daily (day, error_code, error_stage);

INSERT INTO retention_policy (table_name, time_column, keep, note) VALUES
    ('error_events', 'created_at', interval '90 days', '§4.5: pattern analysis');
