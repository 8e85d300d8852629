-- Store configuration, retention policy, and the daily range-partition machinery used by logs, spans
-- and metric_points. Partitions are whole UTC days named <table>_pYYYYMMDD; each partitioned table has a
-- <table>_default partition so an insert for a day with no partition yet never fails.

-- Settings the SQL side reads (the monthly CPU budget). `rythmiq-otel migrate` writes
-- RYTHMIQ_CPU_BUDGET_HOURS here when it is set.
CREATE TABLE rythmiq_config (
    key         text PRIMARY KEY,
    value       text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO rythmiq_config (key, value) VALUES ('cpu_budget_hours', '200');

-- Spec §4.5 retention, one row per table; rythmiq_maintenance() applies it. Daily-partitioned tables drop
-- whole expired days; the others delete rows whose `time_column` is older than `keep`. Tables not listed
-- (job_runs: "jobs, indefinite") are kept forever. Edit the rows to change retention; no code change.
CREATE TABLE retention_policy (
    table_name   text PRIMARY KEY,
    time_column  text NOT NULL,
    keep         interval NOT NULL CHECK (keep > interval '0'),
    note         text
);

-- The partition key column of a range-partitioned table.
CREATE FUNCTION partition_key_column(parent regclass) RETURNS name
LANGUAGE sql STABLE AS $$
    SELECT a.attname
    FROM pg_partitioned_table pt
    JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
    WHERE pt.partrelid = parent
$$;

-- Create the partition of `parent` for the UTC day `day`; returns false when it already exists.
-- The partition is built as a plain table and then attached, because ATTACH takes only SHARE UPDATE
-- EXCLUSIVE on the parent (writers keep writing to the other days) where CREATE ... PARTITION OF would take
-- ACCESS EXCLUSIVE. Rows for that day already sitting in the DEFAULT partition are moved into it first,
-- in the same transaction (attaching would fail on them). Locks are taken parent first, then DEFAULT,
-- the order an insert takes them, so a concurrent writer waits instead of deadlocking.
CREATE FUNCTION create_daily_partition(parent regclass, day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    schema_name text;
    base text;
    part text;
    dflt regclass;
    keycol name := partition_key_column(parent);
    lo timestamptz := day::timestamp AT TIME ZONE 'UTC';
    hi timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF keycol IS NULL THEN
        RAISE EXCEPTION 'create_daily_partition: % is not a range-partitioned table', parent;
    END IF;
    SELECT n.nspname, c.relname INTO schema_name, base
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parent;
    part := base || '_p' || to_char(day, 'YYYYMMDD');
    IF to_regclass(format('%I.%I', schema_name, part)) IS NOT NULL THEN
        RETURN false;
    END IF;
    -- Self-conflicting: concurrent maintainers (sink replicas, pg_cron) create one partition at a time.
    EXECUTE format('LOCK TABLE %s IN SHARE UPDATE EXCLUSIVE MODE', parent);
    IF to_regclass(format('%I.%I', schema_name, part)) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   schema_name, part, parent);
    dflt := to_regclass(format('%I.%I', schema_name, base || '_default'));
    IF dflt IS NOT NULL THEN
        -- Writers to DEFAULT wait while rows move, so none lands there for this day before the attach.
        EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', dflt);
        EXECUTE format('WITH moved AS (DELETE FROM %s WHERE %I >= $1 AND %I < $2 RETURNING *) '
                       'INSERT INTO %I.%I SELECT * FROM moved', dflt, keycol, keycol, schema_name, part)
            USING lo, hi;
    END IF;
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                   parent, schema_name, part, lo, hi);
    RETURN true;
END
$$;

-- Create the partitions from `days_back` days ago to `days_ahead` days ahead (UTC), plus one for every day
-- that has rows waiting in DEFAULT (late or early data) and is not older than the table's retention.
-- Returns how many partitions were created.
CREATE FUNCTION ensure_daily_partitions(parent regclass, days_back integer DEFAULT 1,
                                        days_ahead integer DEFAULT 7) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    today date := (now() AT TIME ZONE 'UTC')::date;
    keycol name := partition_key_column(parent);
    dflt regclass := to_regclass(parent::text || '_default');
    keep interval := (SELECT r.keep FROM retention_policy r WHERE r.table_name = parent::text);
    waiting date[] := '{}';
    d date;
    created integer := 0;
BEGIN
    IF dflt IS NOT NULL THEN
        EXECUTE format('SELECT coalesce(array_agg(DISTINCT (%I AT TIME ZONE ''UTC'')::date), ''{}'') FROM %s '
                       'WHERE %I >= $1', keycol, dflt, keycol)
            INTO waiting USING coalesce(now() - keep, '-infinity'::timestamptz);
    END IF;
    FOR d IN
        SELECT g::date FROM generate_series(today - days_back, today + days_ahead, interval '1 day') g
        UNION
        SELECT unnest(waiting)
        ORDER BY 1
    LOOP
        IF create_daily_partition(parent, d) THEN
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END
$$;

-- Drop the daily partitions of `parent` whose whole day is older than `keep`, and delete rows that old
-- from its DEFAULT partition. Returns how many partitions were dropped.
CREATE FUNCTION drop_expired_partitions(parent regclass, keep interval) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    cutoff timestamptz := now() - keep;
    keycol name := partition_key_column(parent);
    dflt regclass := to_regclass(parent::text || '_default');
    child record;
    dropped integer := 0;
BEGIN
    FOR child IN
        SELECT c.oid::regclass AS rel,
               to_date(substring(c.relname FROM '_p(\d{8})$'), 'YYYYMMDD') AS day
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = parent AND c.relname ~ '_p\d{8}$'
    LOOP
        IF ((child.day + 1)::timestamp AT TIME ZONE 'UTC') <= cutoff THEN
            EXECUTE format('DROP TABLE %s', child.rel);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    IF dflt IS NOT NULL THEN
        EXECUTE format('DELETE FROM %s WHERE %I < $1', dflt, keycol) USING cutoff;
    END IF;
    RETURN dropped;
END
$$;
