-- rythmiq_maintenance(): the periodic upkeep of spec §4.5 and §7.1 phase 2 in one call -- metric rollups,
-- retention (partition drops and deletes), partitions ahead, and REFRESH MATERIALIZED VIEW CONCURRENTLY of
-- the three views. Dropping an expired partition locks its parent exclusively; it runs before any step
-- that locks a DEFAULT partition, so the pass never holds a partition lock while waiting for a parent
-- (the order writers lock in), and writers wait for the pass instead of deadlocking with it. The sink calls it on a schedule (rythmiq_otel.store.run_maintenance);
-- where pg_cron is installed it is also scheduled there. Safe to run from several places at once: a
-- run that finds another one in progress skips.

-- Where the metric rollups have got to, and how far back each run recomputes to catch late points.
INSERT INTO rythmiq_config (key, value) VALUES ('metric_rollup_lookback', '2 hours');

CREATE FUNCTION rythmiq_maintenance()
RETURNS TABLE (step text, target text, affected bigint)
LANGUAGE plpgsql
-- Day boundaries (error_events_daily's date_trunc, archive days) must not depend on the caller's zone.
SET "TimeZone" = 'UTC'
AS $$
DECLARE
    parent regclass;
    policy record;
    cutoff timestamptz;
    watermark timestamptz;
    lookback interval;
    rollup_from timestamptz;
    run_at timestamptz := clock_timestamp();
    n bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('rythmiq.maintenance')) THEN
        RETURN QUERY SELECT 'skipped'::text, 'another maintenance run is in progress'::text, 0::bigint;
        RETURN;
    END IF;

    -- 1. Metric rollups, before retention removes raw points.
    SELECT value::timestamptz INTO watermark FROM rythmiq_config WHERE key = 'metric_rollup_watermark';
    SELECT value::interval INTO lookback FROM rythmiq_config WHERE key = 'metric_rollup_lookback';
    rollup_from := coalesce(watermark - lookback, (SELECT min("time") FROM metric_points));
    IF rollup_from IS NOT NULL THEN
        RETURN QUERY SELECT 'metric rollups written'::text, 'metric_rollups'::text,
                            rollup_metrics(rollup_from, run_at)::bigint;
    END IF;
    INSERT INTO rythmiq_config (key, value) VALUES ('metric_rollup_watermark', run_at::text)
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now();

    -- 2. Archive the days of cpu_metrics about to expire, so cpu_metrics_daily keeps its year.
    SELECT date_trunc('day', now() - r.keep) INTO cutoff FROM retention_policy r
        WHERE r.table_name = 'cpu_metrics';
    IF cutoff IS NOT NULL THEN
        DELETE FROM cpu_metrics_daily_archive a USING cpu_metrics m
            WHERE m.created_at < cutoff AND a.day = date_trunc('day', m.created_at, 'UTC');
        INSERT INTO cpu_metrics_daily_archive SELECT * FROM cpu_usage_by('day') u WHERE u.bucket < cutoff;
        GET DIAGNOSTICS n = ROW_COUNT;
        RETURN QUERY SELECT 'days archived'::text, 'cpu_metrics_daily_archive'::text, n;
    END IF;

    -- 3. Retention (§4.5): drop expired day partitions, delete expired rows (whole days) elsewhere.
    FOR policy IN SELECT * FROM retention_policy ORDER BY table_name LOOP
        IF to_regclass(policy.table_name) IS NULL THEN
            CONTINUE;
        END IF;
        IF partition_key_column(policy.table_name::regclass) IS NOT NULL THEN
            RETURN QUERY SELECT 'partitions dropped'::text, policy.table_name,
                                drop_expired_partitions(policy.table_name::regclass, policy.keep)::bigint;
        ELSE
            EXECUTE format('DELETE FROM %I WHERE %I < $1', policy.table_name, policy.time_column)
                USING date_trunc('day', now() - policy.keep);
            GET DIAGNOSTICS n = ROW_COUNT;
            RETURN QUERY SELECT 'rows deleted'::text, policy.table_name, n;
        END IF;
    END LOOP;

    -- 4. Partitions for yesterday .. a week ahead, and for days waiting in DEFAULT.
    FOR parent IN
        SELECT pt.partrelid::regclass FROM pg_partitioned_table pt
        JOIN pg_class c ON c.oid = pt.partrelid
        WHERE pt.partstrat = 'r' AND c.relnamespace = current_schema()::regnamespace
          AND NOT c.relispartition
        ORDER BY 1
    LOOP
        RETURN QUERY SELECT 'partitions created'::text, parent::text, ensure_daily_partitions(parent)::bigint;
    END LOOP;

    -- 5. The dashboards' materialized views, without blocking their readers.
    REFRESH MATERIALIZED VIEW CONCURRENTLY cpu_metrics_hourly;
    REFRESH MATERIALIZED VIEW CONCURRENTLY cpu_metrics_daily;
    REFRESH MATERIALIZED VIEW CONCURRENTLY error_events_daily;
    RETURN QUERY SELECT 'views refreshed'::text,
                        'cpu_metrics_hourly, cpu_metrics_daily, error_events_daily'::text, 3::bigint;
END
$$;

-- §4.5 / §7.1: where pg_cron is available (Supabase, managed Postgres), schedule the maintenance there
-- too. Best effort: without the extension, or without the right to create it, the sink's own scheduler
-- is the only one, which is enough.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_cron') THEN
            BEGIN
                CREATE EXTENSION pg_cron;
            EXCEPTION WHEN OTHERS THEN
                RAISE NOTICE 'pg_cron not enabled (%); the sink schedules maintenance itself', SQLERRM;
                RETURN;
            END;
        ELSE
            RETURN;
        END IF;
    END IF;
    EXECUTE $cron$SELECT cron.schedule('rythmiq-maintenance', '*/15 * * * *',
                                       'SELECT * FROM rythmiq_maintenance()')$cron$;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'could not schedule rythmiq_maintenance with pg_cron (%)', SQLERRM;
END
$$;
