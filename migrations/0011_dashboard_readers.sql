-- Readers for the dashboards (rythmiq_otel.console.dashboards and the Grafana export made from the same
-- panel definitions): fresh numbers without a refresh, and fast ones over long ranges.
--
-- The materialized views and metric rollups are only as fresh as the last maintenance pass (every 5
-- minutes in the sink, 15 with pg_cron), and the dashboards must not write: a read-only role cannot
-- REFRESH. So each reader takes what has been rolled up and computes the not-yet-rolled-up tail from the
-- raw table, in one call.

-- CPU usage per `unit` ('hour' or 'day', UTC) of the cpu_metrics rows created in [from_time, to_time).
-- The one definition of that aggregation: cpu_usage_by(unit) -- what the views are built from -- becomes
-- the unbounded case of it (same signature and columns, so the views keep working).
CREATE FUNCTION cpu_usage_between(unit text, from_time timestamptz, to_time timestamptz)
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
    WHERE m.created_at >= from_time AND m.created_at < to_time
    GROUP BY 1
$$;

CREATE OR REPLACE FUNCTION cpu_usage_by(unit text)
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
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
    SELECT * FROM cpu_usage_between(unit, '-infinity', 'infinity')
$$;

-- cpu_metrics_daily for the UTC days in [from_time, to_time), always current: the view's days before its
-- last (possibly partial) day, then every later day straight from cpu_metrics. Days whose raw rows have
-- expired come from the view (its archive part), as before.
CREATE FUNCTION cpu_daily_fresh(from_time timestamptz, to_time timestamptz)
RETURNS SETOF cpu_metrics_daily
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
    WITH fresh AS (
        SELECT coalesce(max(day), '-infinity'::timestamptz) AS until FROM cpu_metrics_daily
    )
    SELECT d.* FROM cpu_metrics_daily d, fresh
    WHERE d.day >= date_trunc('day', from_time, 'UTC') AND d.day < to_time AND d.day < fresh.until
    UNION ALL
    SELECT u.* FROM fresh,
         cpu_usage_between('day', greatest(date_trunc('day', from_time, 'UTC'), fresh.until), to_time) u
$$;

-- The hourly rollups of the metrics `names` for the hours in [from_time, to_time), always current: rows
-- of metric_rollups_1h for the hours the last rollup run completed, then the raw points' increments
-- (metric_increments) summed per hour the same way for the rest. Series are keyed like the rollups
-- (metric, service, attributes, bucket bounds).
CREATE FUNCTION metric_hourly_fresh(names text[], from_time timestamptz, to_time timestamptz)
RETURNS TABLE (
    bucket         timestamptz,
    metric_name    text,
    service        text,
    attributes     jsonb,
    bucket_bounds  double precision[],
    value_sum      double precision,
    count          bigint,
    sum            double precision,
    bucket_counts  bigint[]
)
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
    WITH done AS (
        SELECT greatest(date_trunc('hour', from_time, 'UTC'),
                        least(date_trunc('hour', to_time, 'UTC') + interval '1 hour',
                              coalesce(date_trunc('hour', (SELECT value::timestamptz FROM rythmiq_config
                                                           WHERE key = 'metric_rollup_watermark'), 'UTC'),
                                       '-infinity'::timestamptz))) AS until
    )
    SELECT r.bucket, r.metric_name, r.service, r.attributes, r.bucket_bounds, r.value_sum, r.count, r.sum,
           r.bucket_counts
    FROM metric_rollups_1h r, done
    WHERE r.resolution = '1 hour' AND r.metric_name = ANY (names)
      AND r.bucket >= date_trunc('hour', from_time, 'UTC') AND r.bucket < done.until AND r.bucket < to_time
    UNION ALL
    SELECT date_trunc('hour', i."time", 'UTC'), i.metric_name, coalesce(i.service, ''), i.attributes,
           coalesce(i.bucket_bounds, '{}'), sum(i.value), sum(i.count), sum(i.sum),
           bucket_counts_sum(i.bucket_counts)
    FROM done, metric_increments(done.until, to_time) i
    WHERE i.metric_name = ANY (names) AND i.kind IN ('sum', 'histogram')
    GROUP BY 1, 2, 3, 4, 5
$$;
