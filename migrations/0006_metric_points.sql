-- metric_points: one row per OTLP data point of the §3.1 catalog (sum = counters, gauge, histogram with
-- its explicit bucket bounds and per-bucket counts), partitioned by UTC day of the point's end time.
-- Delta and cumulative points are stored as they arrive; metric_increments() turns cumulative points into
-- increments so both aggregate alike, and rollup_metrics() fills the §3.3 rollups from those increments.

CREATE TABLE metric_points (
    "time"         timestamptz NOT NULL,
    start_time     timestamptz,
    metric_name    text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('sum', 'gauge', 'histogram')),
    temporality    text NOT NULL DEFAULT 'unspecified'
                   CHECK (temporality IN ('delta', 'cumulative', 'unspecified')),
    is_monotonic   boolean,
    service        text,
    attributes     jsonb NOT NULL DEFAULT '{}',
    resource       jsonb,
    value          double precision,
    count          bigint,
    sum            double precision,
    min            double precision,
    max            double precision,
    bucket_bounds  double precision[],
    bucket_counts  bigint[],
    dedup_key      uuid NOT NULL,
    UNIQUE ("time", dedup_key)
) PARTITION BY RANGE ("time");
CREATE TABLE metric_points_default PARTITION OF metric_points DEFAULT;

CREATE INDEX idx_metric_points_name_time ON metric_points (metric_name, "time");
-- The previous point of a cumulative series (metric_increments' lateral lookup).
CREATE INDEX idx_metric_points_series ON metric_points (metric_name, start_time, "time");

-- Element-wise sum of bigint arrays (histogram bucket counts); NULLs count as absent.
CREATE FUNCTION bigint_array_add(acc bigint[], item bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN acc IS NULL THEN item
        WHEN item IS NULL THEN acc
        ELSE ARRAY(SELECT coalesce(a, 0) + coalesce(b, 0)
                   FROM unnest(acc, item) WITH ORDINALITY AS u(a, b, i) ORDER BY i)
    END
$$;
CREATE AGGREGATE bucket_counts_sum(bigint[]) (SFUNC = bigint_array_add, STYPE = bigint[]);

-- The points whose end time falls in [from_time, to_time), cumulative ones replaced by their increment
-- over the previous point of the same series (metric, service, attributes, resource, start_time). The
-- first point of a series is all increment (it counts from start_time); a drop in a monotonic sum is a
-- reset, so the new value is the increment (as Prometheus' rate() treats it). Gauges pass unchanged.
CREATE FUNCTION metric_increments(from_time timestamptz, to_time timestamptz)
RETURNS TABLE (
    "time"         timestamptz,
    metric_name    text,
    kind           text,
    service        text,
    attributes     jsonb,
    value          double precision,
    count          bigint,
    sum            double precision,
    min            double precision,
    max            double precision,
    bucket_bounds  double precision[],
    bucket_counts  bigint[]
)
LANGUAGE sql STABLE AS $$
    SELECT p."time", p.metric_name, p.kind, p.service, p.attributes,
           CASE WHEN prev.value IS NULL OR p.kind = 'gauge' OR (p.is_monotonic AND p.value < prev.value)
                THEN p.value ELSE p.value - prev.value END,
           CASE WHEN prev.count IS NULL OR p.count < prev.count THEN p.count ELSE p.count - prev.count END,
           CASE WHEN prev.count IS NULL OR p.count < prev.count THEN p.sum ELSE p.sum - prev.sum END,
           p.min, p.max, p.bucket_bounds,
           CASE WHEN prev.bucket_counts IS NULL OR p.count < prev.count
                     OR prev.bucket_bounds IS DISTINCT FROM p.bucket_bounds
                THEN p.bucket_counts
                ELSE ARRAY(SELECT c - coalesce(pc, 0)
                           FROM unnest(p.bucket_counts, prev.bucket_counts) WITH ORDINALITY AS u(c, pc, i)
                           ORDER BY i)
           END
    FROM metric_points p
    LEFT JOIN LATERAL (
        SELECT q.value, q.count, q.sum, q.bucket_bounds, q.bucket_counts
        FROM metric_points q
        WHERE p.temporality = 'cumulative'
          AND q.metric_name = p.metric_name
          AND q.start_time = p.start_time
          AND q."time" < p."time"
          AND q.service IS NOT DISTINCT FROM p.service
          AND q.attributes = p.attributes
          AND q.resource IS NOT DISTINCT FROM p.resource
        ORDER BY q."time" DESC
        LIMIT 1
    ) prev ON true
    WHERE p."time" >= from_time AND p."time" < to_time
$$;

-- §3.3 rollups, one list partition per resolution: counters and histograms by 1 minute and 1 hour, gauges
-- by 5 minutes and 1 hour. `bucket` is the start of the interval (UTC-aligned); series are aggregated over
-- all resources (processes), keyed by metric, service, attributes and (for histograms) bucket bounds.
-- value_sum is the summed increments of a counter; value_last/min/max/avg describe a gauge.
CREATE TABLE metric_rollups (
    resolution     text NOT NULL,
    bucket         timestamptz NOT NULL,
    metric_name    text NOT NULL,
    kind           text NOT NULL,
    service        text NOT NULL DEFAULT '',
    attributes     jsonb NOT NULL DEFAULT '{}',
    bucket_bounds  double precision[] NOT NULL DEFAULT '{}',
    points         integer NOT NULL,
    value_sum      double precision,
    value_min      double precision,
    value_max      double precision,
    value_last     double precision,
    count          bigint,
    sum            double precision,
    min            double precision,
    max            double precision,
    bucket_counts  bigint[],
    PRIMARY KEY (resolution, bucket, metric_name, service, attributes, bucket_bounds)
) PARTITION BY LIST (resolution);
CREATE TABLE metric_rollups_1m PARTITION OF metric_rollups FOR VALUES IN ('1 minute');
CREATE TABLE metric_rollups_5m PARTITION OF metric_rollups FOR VALUES IN ('5 minutes');
CREATE TABLE metric_rollups_1h PARTITION OF metric_rollups FOR VALUES IN ('1 hour');
CREATE INDEX idx_metric_rollups_name ON metric_rollups (metric_name, resolution, bucket);

-- Recompute the rollups of every whole UTC hour touching [from_time, to_time). Recomputing whole hours
-- keeps both resolutions complete and makes a rerun (or a late point) idempotent. Returns rows written.
CREATE FUNCTION rollup_metrics(from_time timestamptz, to_time timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz := date_trunc('hour', from_time, 'UTC');
    hi timestamptz := date_trunc('hour', to_time, 'UTC') + interval '1 hour';
    written integer;
BEGIN
    DELETE FROM metric_rollups WHERE bucket >= lo AND bucket < hi;
    INSERT INTO metric_rollups (resolution, bucket, metric_name, kind, service, attributes, bucket_bounds,
                                points, value_sum, value_min, value_max, value_last,
                                count, sum, min, max, bucket_counts)
    SELECT r.resolution,
           date_bin(r.width, i."time", timestamptz '2000-01-01 00:00:00+00'),
           i.metric_name, i.kind, coalesce(i.service, ''), i.attributes, coalesce(i.bucket_bounds, '{}'),
           count(*), sum(i.value), min(i.value), max(i.value),
           (array_agg(i.value ORDER BY i."time" DESC))[1],
           sum(i.count), sum(i.sum), min(i.min), max(i.max), bucket_counts_sum(i.bucket_counts)
    FROM metric_increments(lo, hi) i
    JOIN (VALUES ('1 minute', interval '1 minute', '{sum,histogram}'::text[]),
                 ('5 minutes', interval '5 minutes', '{gauge}'::text[]),
                 ('1 hour', interval '1 hour', '{sum,gauge,histogram}'::text[])) AS r(resolution, width, kinds)
      ON i.kind = ANY (r.kinds)
    GROUP BY 1, 2, 3, 4, 5, 6, 7;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$$;

-- Estimate the q-quantile (0 <= q <= 1) of a histogram from its bucket bounds and per-bucket counts
-- (OTLP explicit buckets: counts has one more element than bounds, the last being the +Inf bucket),
-- interpolating linearly inside the bucket that holds the rank, as Prometheus' histogram_quantile does:
-- the first bucket starts at 0 (when its bound is positive), and a rank in the +Inf bucket returns the
-- highest finite bound. NULL when the histogram is empty.
CREATE FUNCTION histogram_quantile(q double precision, bounds double precision[], counts bigint[])
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    n integer := coalesce(array_length(bounds, 1), 0);
    total double precision;
    rank double precision;
    below double precision := 0;
    lower_bound double precision;
    i integer;
BEGIN
    IF q IS NULL OR counts IS NULL THEN
        RETURN NULL;
    END IF;
    IF q < 0 OR q > 1 THEN
        RAISE EXCEPTION 'histogram_quantile: q must be between 0 and 1, got %', q;
    END IF;
    IF coalesce(array_length(counts, 1), 0) <> n + 1 THEN
        RAISE EXCEPTION 'histogram_quantile: % bucket counts for % bounds; expected % (the last is +Inf)',
            coalesce(array_length(counts, 1), 0), n, n + 1;
    END IF;
    SELECT sum(c) INTO total FROM unnest(counts) AS c;
    IF total = 0 THEN
        RETURN NULL;
    END IF;
    rank := q * total;
    FOR i IN 1 .. n + 1 LOOP
        IF below + counts[i] >= rank THEN
            IF i = n + 1 THEN
                RETURN bounds[n];
            END IF;
            IF i = 1 THEN
                IF bounds[1] <= 0 THEN
                    RETURN bounds[1];
                END IF;
                lower_bound := 0;
            ELSE
                lower_bound := bounds[i - 1];
            END IF;
            IF counts[i] = 0 THEN
                RETURN lower_bound;
            END IF;
            RETURN lower_bound + (bounds[i] - lower_bound) * (rank - below) / counts[i];
        END IF;
        below := below + counts[i];
    END LOOP;
    RETURN bounds[n];
END
$$;

INSERT INTO retention_policy (table_name, time_column, keep, note) VALUES
    ('metric_points', 'time', interval '30 days', 'raw points; the rollups keep the longer history'),
    ('metric_rollups_1m', 'bucket', interval '30 days', '§3.3 rollup 1'),
    ('metric_rollups_5m', 'bucket', interval '90 days', '§3.3 gauge rollup 1'),
    ('metric_rollups_1h', 'bucket', interval '1 year', '§3.3 rollup 2, like cpu_metrics_daily');

SELECT ensure_daily_partitions('metric_points');
