-- §3.3: gauges are sampled every minute and rolled up by 5 minutes and 1 hour. The §3.2 gauges
-- (rythmiq_cpu_hours_current_month, rythmiq_jobs_in_progress) come from the store itself, so the store
-- samples them: business_gauges() is their one definition (the sink's /metrics reads it too), and
-- sample_business_gauges() writes one gauge point each into metric_points for the current UTC minute,
-- where rollup_metrics() finds them like any other gauge. Sampling the same minute twice (several sink
-- replicas, a restart) keeps the first sample: the dedup key is the metric name and the minute.
CREATE FUNCTION business_gauges() RETURNS TABLE (metric_name text, value double precision)
LANGUAGE sql STABLE AS $$
    SELECT 'rythmiq_cpu_hours_current_month', u.used_hours FROM get_monthly_cpu_usage() u
    UNION ALL
    SELECT 'rythmiq_jobs_in_progress', count(*)::double precision FROM job_runs WHERE status = 'processing'
$$;

CREATE FUNCTION sample_business_gauges() RETURNS integer
LANGUAGE sql AS $$
    WITH sample AS (
        SELECT date_trunc('minute', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS at
    ), written AS (
        INSERT INTO metric_points ("time", metric_name, kind, temporality, attributes, value, dedup_key)
        SELECT s.at, g.metric_name, 'gauge', 'unspecified', '{}'::jsonb, g.value,
               md5('business_gauge:' || g.metric_name || ':' || extract(epoch FROM s.at)::bigint)::uuid
        FROM business_gauges() g CROSS JOIN sample s
        ON CONFLICT ("time", dedup_key) DO NOTHING
        RETURNING 1
    )
    SELECT count(*)::integer FROM written
$$;
