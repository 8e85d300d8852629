-- The error-rate alert and the report's hourly error-rate trend count the jobs that finished in a window
-- (completed_at), every minute; without an index that is a scan of job_runs, which is kept forever.
CREATE INDEX idx_job_runs_completed_at ON job_runs (completed_at) WHERE status IN ('completed', 'failed');
