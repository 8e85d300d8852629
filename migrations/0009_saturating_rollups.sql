-- Rollups that any stored point leaves working.
--
-- One rollup row per kind: the key lacked `kind`, so a metric name sent once as a gauge and once as a sum
-- (two senders disagreeing, or a hostile one) in the same bucket made the INSERT below a duplicate key,
-- and rythmiq_maintenance() failed on every pass from then on.

ALTER TABLE metric_rollups DROP CONSTRAINT metric_rollups_pkey;
ALTER TABLE metric_rollups
    ADD PRIMARY KEY (resolution, bucket, metric_name, kind, service, attributes, bucket_bounds);

-- Sums that cannot overflow. The sink refuses counts of 2**63 and more, but the 1-minute and 1-hour
-- rollups add up every point of a series in a bucket: enough large delta counts in one bucket made
-- sum(count) or bucket_counts_sum() leave bigint, "bigint out of range" failed rythmiq_maintenance() as a
-- whole, and with it retention, partitions and view refresh, on every later pass. Both sums now saturate at
-- the largest bigint (a count that large is already meaningless; maintenance keeps running). Floats need
-- no change here: the sink stores none beyond 1e100 in magnitude, so no sum of them reaches a double's
-- limit.

CREATE OR REPLACE FUNCTION bigint_array_add(acc bigint[], item bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN acc IS NULL THEN item
        WHEN item IS NULL THEN acc
        ELSE ARRAY(SELECT least(coalesce(a, 0)::numeric + coalesce(b, 0), 9223372036854775807)::bigint
                   FROM unnest(acc, item) WITH ORDINALITY AS u(a, b, i) ORDER BY i)
    END
$$;

CREATE OR REPLACE FUNCTION rollup_metrics(from_time timestamptz, to_time timestamptz) RETURNS integer
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
           least(sum(i.count), 9223372036854775807)::bigint, sum(i.sum), min(i.min), max(i.max),
           bucket_counts_sum(i.bucket_counts)
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
