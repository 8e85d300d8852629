-- logs and spans each had a plain index on their partition column, idx_logs_time ("timestamp" DESC) and
-- idx_spans_time (start_time DESC), beside a unique constraint whose index leads with the same column. A
-- B-tree is read in either direction, so the unique index serves every time range and every ORDER BY ...
-- DESC those two did (and retention drops whole partitions); without them each logs and spans row costs
-- one B-tree insert less, on the sink's hottest path.

DROP INDEX IF EXISTS idx_logs_time;
DROP INDEX IF EXISTS idx_spans_time;
