-- One month everywhere: the calendar month in UTC. get_monthly_cpu_usage() (0004) took the month of the
-- session's time zone while the sink's rythmiq_cpu_hours_current_month gauge and the budget alert counted
-- the UTC month, so a session in America/Los_Angeles saw different "used this month" numbers for up to a
-- day around month ends. Same signature and columns; month_start is now the UTC month's start, and the
-- month length comes from UTC wall-clock months (computed on timestamps without a zone, so no session
-- offset or DST shift moves it).
CREATE OR REPLACE FUNCTION get_monthly_cpu_usage(budget double precision DEFAULT NULL)
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
    start_at timestamptz := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    end_at timestamptz :=
        (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
    elapsed double precision := extract(epoch FROM now() - start_at);
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
