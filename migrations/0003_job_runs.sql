-- job_runs: the job lifecycle as the telemetry tells it; it stands in for the application's `jobs` table
-- in the §5 queries (`FROM jobs` -> `FROM job_runs`, everything else unchanged), so it has the columns
-- those queries read: created_at and status ('pending' | 'processing' | 'completed' | 'failed').
-- Kept indefinitely (§4.5 "jobs: indefinite, audit trail"), so it is not partitioned.

CREATE TABLE job_runs (
    job_id                 uuid PRIMARY KEY,
    correlation_id         uuid,
    status                 text NOT NULL DEFAULT 'pending'
                           CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    processing_path        text,
    execution_temperature  text,
    created_at             timestamptz NOT NULL DEFAULT now(),
    started_at             timestamptz,
    completed_at           timestamptz,
    error_code             text,
    error_stage            text,
    updated_at             timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_job_runs_created_at ON job_runs (created_at DESC);
CREATE INDEX idx_job_runs_status ON job_runs (status, created_at DESC);
CREATE INDEX idx_job_runs_correlation ON job_runs (correlation_id);
