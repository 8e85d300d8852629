-- cpu_metrics (§4.2: one row per job, from the worker's final metrics summary), the §4.4 indexes, the
-- cpu_metrics_hourly / cpu_metrics_daily materialized views and get_monthly_cpu_usage() (§5.3).
--
-- The views hold one row per hour / per UTC day, with the by-path and by-temperature breakdowns as
-- columns: the §5.3 query `SELECT day, total_cpu_hours FROM cpu_metrics_daily ... ORDER BY day` reads one
-- bar per day only if a day is one row. A unique index on the bucket lets them REFRESH CONCURRENTLY.

CREATE TABLE cpu_metrics (
    id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id                   uuid NOT NULL UNIQUE,
    correlation_id           uuid,
    execution_temperature    text,
    processing_path          text,
    total_cpu_seconds        double precision NOT NULL DEFAULT 0,
    total_wall_seconds       double precision,
    fetch_cpu_seconds        double precision NOT NULL DEFAULT 0,
    quality_cpu_seconds      double precision NOT NULL DEFAULT 0,
    pre_ocr_cpu_seconds      double precision NOT NULL DEFAULT 0,
    enhancement_cpu_seconds  double precision NOT NULL DEFAULT 0,
    ocr_cpu_seconds          double precision NOT NULL DEFAULT 0,
    schema_cpu_seconds       double precision NOT NULL DEFAULT 0,
    upload_cpu_seconds       double precision NOT NULL DEFAULT 0,
    input_file_size_bytes    bigint,
    output_file_size_bytes   bigint,
    quality_score            double precision,
    ocr_confidence           double precision,
    enhancement_skipped      boolean,
    page_count               integer,
    created_at               timestamptz NOT NULL DEFAULT now()
);

-- §4.4, by name. (job_id also has the UNIQUE constraint's index; the named one is what §4.4 lists.)
CREATE INDEX idx_cpu_metrics_job_id ON cpu_metrics (job_id);
CREATE INDEX idx_cpu_metrics_created_at ON cpu_metrics (created_at DESC);
CREATE INDEX idx_cpu_metrics_processing_path ON cpu_metrics (processing_path, created_at);
CREATE INDEX idx_cpu_metrics_temperature ON cpu_metrics (execution_temperature, created_at);
CREATE INDEX idx_cpu_metrics_total_cpu ON cpu_metrics (created_at, total_cpu_seconds);
CREATE INDEX idx_cpu_metrics_correlation ON cpu_metrics (correlation_id);

-- CPU usage per `unit` ('hour' or 'day', UTC), straight from cpu_metrics. Both views and the daily archive
-- are built from this one definition.
CREATE FUNCTION cpu_usage_by(unit text)
RETURNS TABLE (
    bucket              timestamptz,
    jobs                bigint,
    total_cpu_seconds   double precision,
    total_cpu_hours     double precision,
    total_wall_seconds  double precision,
    avg_cpu_seconds     double precision,
    fast_jobs           bigint,
    standard_jobs       bigint,
    fast_cpu_hours      double precision,
    standard_cpu_hours  double precision,
    cold_jobs           bigint,
    warm_jobs           bigint,
    cold_cpu_hours      double precision,
    warm_cpu_hours      double precision
)
-- PostgreSQL 17+ refreshes materialized views with search_path = pg_catalog, pg_temp; pinning the
-- migration's search_path lets the views call this function.
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
    SELECT date_trunc(unit, m.created_at, 'UTC'),
           count(*),
           sum(m.total_cpu_seconds),
           sum(m.total_cpu_seconds) / 3600.0,
           sum(m.total_wall_seconds),
           avg(m.total_cpu_seconds),
           count(*) FILTER (WHERE m.processing_path = 'fast'),
           count(*) FILTER (WHERE m.processing_path = 'standard'),
           coalesce(sum(m.total_cpu_seconds) FILTER (WHERE m.processing_path = 'fast'), 0) / 3600.0,
           coalesce(sum(m.total_cpu_seconds) FILTER (WHERE m.processing_path = 'standard'), 0) / 3600.0,
           count(*) FILTER (WHERE m.execution_temperature = 'cold'),
           count(*) FILTER (WHERE m.execution_temperature = 'warm'),
           coalesce(sum(m.total_cpu_seconds) FILTER (WHERE m.execution_temperature = 'cold'), 0) / 3600.0,
           coalesce(sum(m.total_cpu_seconds) FILTER (WHERE m.execution_temperature = 'warm'), 0) / 3600.0
    FROM cpu_metrics m
    GROUP BY 1
$$;

CREATE MATERIALIZED VIEW cpu_metrics_hourly (hour) AS SELECT * FROM cpu_usage_by('hour');
CREATE UNIQUE INDEX idx_cpu_metrics_hourly_hour ON cpu_metrics_hourly (hour);

-- §4.5 keeps cpu_metrics 90 days but cpu_metrics_daily a year: before maintenance deletes expired raw rows
-- (whole days), it copies their daily rows here, and the view shows archived days raw rows no longer cover.
CREATE TABLE cpu_metrics_daily_archive (day) AS SELECT * FROM cpu_usage_by('day') WITH NO DATA;
ALTER TABLE cpu_metrics_daily_archive ADD PRIMARY KEY (day);

CREATE MATERIALIZED VIEW cpu_metrics_daily (day) AS
    SELECT * FROM cpu_usage_by('day')
    UNION ALL
    SELECT a.* FROM cpu_metrics_daily_archive a
    WHERE NOT EXISTS (
        SELECT 1 FROM cpu_metrics m WHERE m.created_at >= a.day AND m.created_at < a.day + interval '1 day'
    );
CREATE UNIQUE INDEX idx_cpu_metrics_daily_day ON cpu_metrics_daily (day);

INSERT INTO retention_policy (table_name, time_column, keep, note) VALUES
    ('cpu_metrics', 'created_at', interval '90 days', '§4.5: capacity planning; cpu_metrics_hourly follows it'),
    ('cpu_metrics_daily_archive', 'day', interval '1 year', '§4.5: cpu_metrics_daily, monthly reporting');

-- §5.3: CPU hours used this month, the end-of-month projection at the current pace, what is left of the
-- budget (negative when over it) and the percentage used. The month is the calendar month of now() in
-- the session's time zone, like the §5.3 queries' date_trunc('month', now()). `budget` (hours) defaults to
-- rythmiq_config.cpu_budget_hours (200 unless RYTHMIQ_CPU_BUDGET_HOURS was set at migrate time).
CREATE FUNCTION get_monthly_cpu_usage(budget double precision DEFAULT NULL)
RETURNS TABLE (
    month_start      timestamptz,
    used_hours       double precision,
    projected_hours  double precision,
    budget_hours     double precision,
    remaining_hours  double precision,
    percent_used     double precision,
    days_elapsed     double precision,
    days_in_month    integer
)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    hours_budget double precision := coalesce(
        budget,
        (SELECT value::double precision FROM rythmiq_config WHERE key = 'cpu_budget_hours'),
        200);
    start_at timestamptz := date_trunc('month', now());
    end_at timestamptz := date_trunc('month', now()) + interval '1 month';
    elapsed double precision := extract(epoch FROM now() - date_trunc('month', now()));
    used double precision;
BEGIN
    IF NOT hours_budget > 0 THEN
        RAISE EXCEPTION 'get_monthly_cpu_usage: the budget must be a positive number of hours, got %',
            hours_budget;
    END IF;
    SELECT coalesce(sum(m.total_cpu_seconds), 0) / 3600.0 INTO used
    FROM cpu_metrics m WHERE m.created_at >= start_at AND m.created_at < end_at;
    RETURN QUERY SELECT
        start_at,
        used,
        used * extract(epoch FROM end_at - start_at) / greatest(elapsed, 1),
        hours_budget,
        hours_budget - used,
        100.0 * used / hours_budget,
        elapsed / 86400.0,
        extract(day FROM end_at - start_at)::integer;
END
$$;
