-- Alert state (issue 10, docs/alerts.md): the current state of every rule, the incidents a rule opened
-- by going from ok to firing (resolved when it is back to ok), and the outbox of webhook notifications,
-- one row per incident transition, so each is posted once however many evaluators share the database.
--
-- alert_states is what the operations dashboard reads for "the rules' current states":
--   SELECT rule, title, state, value, threshold, unit, window_text, sample, summary, since, evaluated_at
--   FROM alert_states ORDER BY rule;

CREATE TABLE alert_states (
    rule          text PRIMARY KEY,
    title         text NOT NULL,
    state         text NOT NULL CHECK (state IN ('ok', 'warning', 'firing', 'insufficient_data', 'off')),
    value         double precision,
    threshold     double precision,
    warning       double precision,
    unit          text NOT NULL DEFAULT '',
    window_text   text NOT NULL,
    sample        bigint NOT NULL DEFAULT 0,
    min_sample    bigint NOT NULL DEFAULT 0,
    summary       text NOT NULL,
    since         timestamptz NOT NULL,       -- when the rule entered this state
    evaluated_at  timestamptz NOT NULL,
    incident_id   bigint                      -- the rule's open incident, if any
);

CREATE TABLE alert_incidents (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule            text NOT NULL,
    title           text NOT NULL,
    opened_at       timestamptz NOT NULL,
    resolved_at     timestamptz,
    value           double precision,          -- when it opened
    peak_value      double precision,
    resolved_value  double precision,
    threshold       double precision,
    unit            text NOT NULL DEFAULT '',
    window_text     text NOT NULL,
    summary         text NOT NULL,
    resolution      text                       -- 'back to ok' or 'rule turned off'
);
-- One open incident per rule, whatever races.
CREATE UNIQUE INDEX idx_alert_incidents_open ON alert_incidents (rule) WHERE resolved_at IS NULL;
CREATE INDEX idx_alert_incidents_opened ON alert_incidents (opened_at DESC);

CREATE TABLE alert_notifications (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id      bigint NOT NULL REFERENCES alert_incidents (id) ON DELETE CASCADE,
    transition       text NOT NULL CHECK (transition IN ('opened', 'resolved')),
    payload          jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    gave_up_at       timestamptz,
    last_error       text,
    -- Never two posts for one transition.
    UNIQUE (incident_id, transition)
);
CREATE INDEX idx_alert_notifications_due ON alert_notifications (next_attempt_at)
    WHERE sent_at IS NULL AND gave_up_at IS NULL;

INSERT INTO retention_policy (table_name, time_column, keep, note) VALUES
    ('alert_incidents', 'opened_at', interval '1 year', 'incident history, like cpu_metrics_daily'),
    ('alert_notifications', 'created_at', interval '90 days', 'webhook outbox, like error_events');
