-- depends: 0011_activation_outbox
-- Issue 17. Every status a vendor reported for an event, kept as it changes: the model keeps
-- an event's latest status, and core.status_history keeps each transition, written by the
-- load's own merge statement (sql/queries/merge_stage.sql) in the load's transaction. And the
-- marts that answer the dashboards' questions, as tables the Dagster `marts` asset refreshes
-- after the loads (pipelines/warehouse/mart_refresh.py): incrementally, only the days a load
-- touched (ops.mart_dirty_days, also written by the merge), so no dashboard query recomputes
-- them. Grain and meaning of each are in the COMMENTs below and in README "For analysts".

------------------------------------------------------------------------------------------------
-- Status history
------------------------------------------------------------------------------------------------

-- One row per change of an event's vendor status (status_raw) seen by a load: what it was,
-- what it became, the vendor's time on each side, when a load saw it and which run. A record
-- seen for the first time has no row (its first status is the first row's from-side, or the
-- event's current one); a load that sees nothing new adds none; a load killed half-way adds
-- none (its transaction). A record that changes and changes back within one load adds none:
-- a load's changes fold into one row per event, from what the event was before the load to
-- what the load left. Re-mapping stored records (warehouse_remap) re-reads the same vendor
-- statuses, so it adds none either: the history is what the vendors reported, and event types
-- are read through the map as it was when the change was seen.
CREATE TABLE core.status_history (
    history_id       bigint      GENERATED ALWAYS AS IDENTITY,
    event_id         text        COLLATE "C" NOT NULL,
    source           text        NOT NULL,
    channel          text        NOT NULL,
    from_status_raw  text,
    to_status_raw    text,
    from_event_type  text        NOT NULL,
    to_event_type    text        NOT NULL,
    from_occurred_at timestamptz NOT NULL,
    occurred_at      timestamptz NOT NULL,
    observed_at      timestamptz NOT NULL DEFAULT now(),
    run_id           text,
    -- One B-tree: an event's changes in order (the latency mart; a load folding its own
    -- changes) and each row by its id. Time ranges read the BRIN below.
    PRIMARY KEY (event_id, history_id)
);
COMMENT ON TABLE core.status_history IS
    'One row per change of an event''s vendor status seen by a load (from -> to), written in the '
    'load''s transaction; an event''s first status is its first row''s from-side (or its current '
    'status when it never changed). No personal data.';
COMMENT ON COLUMN core.status_history.event_id IS 'the event (core.message_events.event_id)';
COMMENT ON COLUMN core.status_history.from_status_raw IS 'the vendor status before the change';
COMMENT ON COLUMN core.status_history.to_status_raw IS 'the vendor status the load saw';
COMMENT ON COLUMN core.status_history.from_event_type IS 'from_status_raw''s event type, as mapped when seen';
COMMENT ON COLUMN core.status_history.to_event_type IS 'to_status_raw''s event type, as mapped when seen';
COMMENT ON COLUMN core.status_history.from_occurred_at IS 'the event''s occurred_at before the change';
COMMENT ON COLUMN core.status_history.occurred_at IS
    'the event''s occurred_at after it: the vendor''s time of the new status where it dates statuses '
    '(CINNOX lastUpdatedDateTime), else unchanged (the message''s own time)';
COMMENT ON COLUMN core.status_history.observed_at IS 'when the load that saw the change ran (its transaction time)';
COMMENT ON COLUMN core.status_history.run_id IS 'the Dagster run of that load';
CREATE INDEX status_history_observed_brin ON core.status_history USING brin (observed_at);

------------------------------------------------------------------------------------------------
-- What the marts refresh needs
------------------------------------------------------------------------------------------------

-- The UTC days (of occurred_at, before and after a change) whose events a load wrote since the
-- marts last read them: appended by the merge in the load's transaction, deleted by the refresh
-- that recomputed them (the marks its snapshot saw; a load committing meanwhile keeps its own).
-- marked_at is the load's transaction time, which is also the loaded_at of every row it wrote:
-- the refresh finds the recipients and messages a load touched by it.
CREATE TABLE ops.mart_dirty_days (
    mark_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    day       date        NOT NULL,
    marked_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ops.mart_dirty_days IS
    'UTC days whose events changed since the marts were last refreshed (written by loads, consumed by the refresh)';

-- Every refresh of the mart tables: when, in which reporting zone, whole or by days, and what
-- the marts were computed under (applied migrations, mapping rules), whose change rebuilds them.
CREATE TABLE ops.mart_refreshes (
    refresh_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       text,
    time_zone    text        NOT NULL,
    full_refresh boolean     NOT NULL,
    reason       text        NOT NULL,
    utc_days     integer     NOT NULL,
    inputs       text        NOT NULL,
    refreshed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ops.mart_refreshes IS
    'Each refresh of the mart tables: reporting zone, whole or incremental (why), UTC days recomputed';
COMMENT ON COLUMN ops.mart_refreshes.inputs IS
    'fingerprint of the applied migrations and mapping versions the marts were computed under';

-- Replies that ask to stop, by word: an inbound message whose whole body, without spaces and
-- case, is one of these. Data, so a word is a row.
CREATE TABLE core.stop_words (
    word text PRIMARY KEY CHECK (word = upper(word) AND word !~ '\s')
);
COMMENT ON TABLE core.stop_words IS
    'Stop words: an inbound SMS whose body is one of them (case and spaces ignored) is an opt-out';
INSERT INTO core.stop_words (word) VALUES
    ('STOP'), ('STOPALL'), ('UNSUBSCRIBE'), ('CANCEL'), ('END'), ('QUIT');

-- Inbound messages whose body was a stop word, classified by the marts refresh while the body
-- is kept: retention (PIPELINES_RETENTION_DAYS) removes bodies, never this fact, so opt-out
-- counts survive it. Event ids only; the body stays in raw until retention removes it.
CREATE TABLE core.stop_replies (
    event_id      text        COLLATE "C" PRIMARY KEY,
    classified_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE core.stop_replies IS
    'Inbound messages whose body was a stop word (core.stop_words), kept after retention removes the body';

------------------------------------------------------------------------------------------------
-- The mart tables. Refreshed together, in one transaction, by the `marts` asset; a day's rows
-- are deleted and recomputed whole. "Reporting zone": PIPELINES_REPORTING_TIMEZONE (UTC by
-- default); every row says its zone. `sandbox`: rows from the local vendor sandbox (synthetic).
------------------------------------------------------------------------------------------------

CREATE TABLE marts.volume_daily (
    time_zone      text        NOT NULL,
    day            date        NOT NULL,
    source         text        NOT NULL,
    channel        text        NOT NULL,
    direction      text        NOT NULL,
    event_type     text        NOT NULL,
    sandbox        boolean     NOT NULL,
    events         bigint      NOT NULL,
    recipients     bigint      NOT NULL,
    first_event_at timestamptz NOT NULL,
    last_event_at  timestamptz NOT NULL
);
CREATE INDEX volume_daily_day_idx ON marts.volume_daily (time_zone, day);
COMMENT ON TABLE marts.volume_daily IS
    'Grain: time zone x day x source x channel x direction x event type x sandbox. A row counts the '
    'events of that kind that occurred on that day, in UTC and again in the reporting zone (filter '
    'on time_zone), at their current status.';
COMMENT ON COLUMN marts.volume_daily.time_zone IS '''UTC'', or the reporting zone (PIPELINES_REPORTING_TIMEZONE)';
COMMENT ON COLUMN marts.volume_daily.day IS 'the day of occurred_at in time_zone';
COMMENT ON COLUMN marts.volume_daily.event_type IS 'the events'' current canonical status';
COMMENT ON COLUMN marts.volume_daily.events IS 'events';
COMMENT ON COLUMN marts.volume_daily.recipients IS 'distinct recipients among them (not additive across rows)';
COMMENT ON COLUMN marts.volume_daily.first_event_at IS 'earliest occurred_at among them';
COMMENT ON COLUMN marts.volume_daily.last_event_at IS 'latest occurred_at among them';

CREATE TABLE marts.volume_hourly (
    time_zone   text        NOT NULL,
    hour_start  timestamptz NOT NULL,
    day         date        NOT NULL,
    hour_of_day smallint    NOT NULL,
    source      text        NOT NULL,
    channel     text        NOT NULL,
    direction   text        NOT NULL,
    event_type  text        NOT NULL,
    sandbox     boolean     NOT NULL,
    events      bigint      NOT NULL,
    recipients  bigint      NOT NULL
);
CREATE INDEX volume_hourly_day_idx ON marts.volume_hourly (time_zone, day);
COMMENT ON TABLE marts.volume_hourly IS
    'Grain: time zone x hour x source x channel x direction x event type x sandbox. A row counts the '
    'events of that kind that occurred in that hour of time_zone''s clock, in UTC and in the '
    'reporting zone.';
COMMENT ON COLUMN marts.volume_hourly.time_zone IS '''UTC'', or the reporting zone';
COMMENT ON COLUMN marts.volume_hourly.hour_start IS
    'the instant the hour starts (distinct for the two 01:00 hours of a fall-back night)';
COMMENT ON COLUMN marts.volume_hourly.day IS 'the day of the hour in time_zone';
COMMENT ON COLUMN marts.volume_hourly.hour_of_day IS 'the hour on time_zone''s clock, 0-23';
COMMENT ON COLUMN marts.volume_hourly.events IS 'events';
COMMENT ON COLUMN marts.volume_hourly.recipients IS 'distinct recipients among them (not additive across rows)';

-- A message is an outbound event, and a message's key is what its follow-ups name: the
-- vendor's message id where it has one, else the event itself (as marts.recipient_message_status).
CREATE TABLE marts.failures_daily (
    time_zone    text          NOT NULL,
    day          date          NOT NULL,
    source       text          NOT NULL,
    channel      text          NOT NULL,
    network      text,
    carrier_status text,
    event_type   text,
    status_raw   text,
    error_code   text,
    error_reason text,
    sandbox      boolean       NOT NULL,
    failures     bigint        NOT NULL,
    messages     bigint        NOT NULL,
    failure_rate numeric(7, 4)
);
CREATE INDEX failures_daily_day_idx ON marts.failures_daily (time_zone, day);
COMMENT ON TABLE marts.failures_daily IS
    'Grain: reporting-zone day x source x channel x network x carrier status x failure type x vendor '
    'status x error code x reason x sandbox. A row counts the messages that failed that way that '
    'day, against every message of that day, source, channel and network; a network with messages '
    'and no failure that day has one row with failures 0 and no failure details, so that '
    'sum(failures) / sum of each day''s messages gives a period''s rate.';
COMMENT ON COLUMN marts.failures_daily.network IS 'mGage: the carrier network of the number (its `network`)';
COMMENT ON COLUMN marts.failures_daily.carrier_status IS 'CINNOX: the carrier''s own status (`carrierNetworkStatus`)';
COMMENT ON COLUMN marts.failures_daily.event_type IS 'failed, undelivered, expired or bounced (null: no failure)';
COMMENT ON COLUMN marts.failures_daily.status_raw IS 'the vendor''s status, verbatim';
COMMENT ON COLUMN marts.failures_daily.error_code IS 'the vendor''s error code (CINNOX failedReason''s code, Webex error-code)';
COMMENT ON COLUMN marts.failures_daily.error_reason IS 'the vendor''s reason text';
COMMENT ON COLUMN marts.failures_daily.failures IS 'messages that failed this way that day';
COMMENT ON COLUMN marts.failures_daily.messages IS
    'every outbound message of the day, source, channel and network (the rate''s denominator, '
    'repeated on each of their rows: take it once per day and network)';
COMMENT ON COLUMN marts.failures_daily.failure_rate IS 'failures / messages';

CREATE TABLE marts.engagement_by_hour (
    time_zone    text     NOT NULL,
    day          date     NOT NULL,
    weekday      smallint NOT NULL,
    weekday_name text     NOT NULL,
    hour_of_day  smallint NOT NULL,
    source       text     NOT NULL,
    channel      text     NOT NULL,
    event_type   text     NOT NULL,
    sandbox      boolean  NOT NULL,
    events       bigint   NOT NULL,
    recipients   bigint   NOT NULL
);
CREATE INDEX engagement_by_hour_day_idx ON marts.engagement_by_hour (time_zone, day);
COMMENT ON TABLE marts.engagement_by_hour IS
    'Grain: reporting-zone day x hour of day x source x channel x engagement type x sandbox. A row '
    'counts the engagements (opened, clicked, replied; received: a customer''s inbound message) that '
    'happened in that hour; sum over days by weekday and hour_of_day for the week''s pattern.';
COMMENT ON COLUMN marts.engagement_by_hour.weekday IS 'ISO day of week of day: 1 Monday .. 7 Sunday';
COMMENT ON COLUMN marts.engagement_by_hour.weekday_name IS 'Monday .. Sunday';
COMMENT ON COLUMN marts.engagement_by_hour.hour_of_day IS 'the hour on the reporting zone''s clock, 0-23';
COMMENT ON COLUMN marts.engagement_by_hour.event_type IS 'opened, clicked, replied or received';
COMMENT ON COLUMN marts.engagement_by_hour.events IS 'engagement events';
COMMENT ON COLUMN marts.engagement_by_hour.recipients IS 'distinct recipients among them (not additive across rows)';

CREATE TABLE marts.opt_outs_daily (
    time_zone            text    NOT NULL,
    day                  date    NOT NULL,
    source               text    NOT NULL,
    channel              text    NOT NULL,
    campaign_id          text,
    campaign_name        text,
    sandbox              boolean NOT NULL,
    unsubscribes         bigint  NOT NULL,
    dnd_additions        bigint  NOT NULL,
    dnd_removals         bigint  NOT NULL,
    stop_replies         bigint  NOT NULL,
    opt_outs             bigint  NOT NULL,
    opted_out_recipients bigint  NOT NULL
);
CREATE INDEX opt_outs_daily_day_idx ON marts.opt_outs_daily (time_zone, day);
COMMENT ON TABLE marts.opt_outs_daily IS
    'Grain: reporting-zone day x source x channel x campaign x sandbox (only where something '
    'happened). A row counts the opt-outs and opt-ins of that day and campaign; sum over days for a '
    'campaign''s totals. Counts only: never a message body.';
COMMENT ON COLUMN marts.opt_outs_daily.campaign_id IS 'the event''s campaign (mGage: the program of an inbound reply)';
COMMENT ON COLUMN marts.opt_outs_daily.unsubscribes IS 'unsubscribe events (SenderGuide unsubscribes, Webex Email/MSISDN Unsubscribe)';
COMMENT ON COLUMN marts.opt_outs_daily.dnd_additions IS 'customers added to a do-not-disturb list (Webex DNDAddition)';
COMMENT ON COLUMN marts.opt_outs_daily.dnd_removals IS 'customers removed from a do-not-disturb list: opt-ins (Webex DNDRemoval)';
COMMENT ON COLUMN marts.opt_outs_daily.stop_replies IS
    'inbound SMS whose body is a stop word (core.stop_words: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, '
    'QUIT; case and spaces ignored). Only mGage reports inbound bodies';
COMMENT ON COLUMN marts.opt_outs_daily.opt_outs IS 'unsubscribes + dnd_additions + stop_replies';
COMMENT ON COLUMN marts.opt_outs_daily.opted_out_recipients IS 'distinct recipients among the opt-outs';

CREATE TABLE marts.message_latency (
    event_id                    text        COLLATE "C" NOT NULL,
    source                      text        NOT NULL,
    channel                     text        NOT NULL,
    campaign_id                 text        COLLATE "C",
    campaign_name               text,
    recipient_pseudonym         text        COLLATE "C",
    message_key                 text        NOT NULL,
    time_zone                   text        NOT NULL,
    day                         date        NOT NULL,
    sent_at                     timestamptz NOT NULL,
    delivered                   boolean     NOT NULL,
    delivered_at                timestamptz,
    delivery_time_basis         text        CHECK (delivery_time_basis IN ('vendor', 'observed')),
    seconds_to_delivery         double precision,
    engaged                     boolean     NOT NULL,
    first_engaged_at            timestamptz,
    engagement_time_basis       text        CHECK (engagement_time_basis IN ('vendor', 'observed')),
    seconds_to_first_engagement double precision,
    current_event_type          text        NOT NULL,
    transitions                 integer     NOT NULL,
    sandbox                     boolean     NOT NULL
);
CREATE INDEX message_latency_message_idx ON marts.message_latency (source, recipient_pseudonym, message_key);
CREATE INDEX message_latency_campaign_idx ON marts.message_latency (source, channel, campaign_id);
COMMENT ON TABLE marts.message_latency IS
    'Grain: one outbound message (its send event). When it was sent, delivered and first engaged '
    'with, from the status history and the follow-up events (opens, clicks, replies) naming it. A '
    'time is the vendor''s where it dates the status, else when a load first saw the change (an '
    'upper bound); a message first seen already delivered by a vendor that does not date statuses '
    'has no delivery time.';
COMMENT ON COLUMN marts.message_latency.event_id IS 'the send event (marts.message_events.event_id)';
COMMENT ON COLUMN marts.message_latency.message_key IS
    'the vendor''s message id (or the event id) its follow-ups name (marts.recipient_message_status)';
COMMENT ON COLUMN marts.message_latency.day IS 'the day of sent_at in the reporting zone';
COMMENT ON COLUMN marts.message_latency.sent_at IS
    'the send time: CINNOX''s sent_at, else the message''s own time (occurred_at) as first seen';
COMMENT ON COLUMN marts.message_latency.delivered IS
    'it reached a delivered state (delivered, or an engagement, which implies it)';
COMMENT ON COLUMN marts.message_latency.delivered_at IS 'when, where known';
COMMENT ON COLUMN marts.message_latency.delivery_time_basis IS
    'vendor: the vendor''s own time of the status; observed: when a load first saw it (an upper bound)';
COMMENT ON COLUMN marts.message_latency.seconds_to_delivery IS 'delivered_at - sent_at, in seconds';
COMMENT ON COLUMN marts.message_latency.engaged IS 'it was opened, clicked or replied to';
COMMENT ON COLUMN marts.message_latency.first_engaged_at IS 'its first open, click or reply, where known';
COMMENT ON COLUMN marts.message_latency.engagement_time_basis IS 'as delivery_time_basis, for first_engaged_at';
COMMENT ON COLUMN marts.message_latency.seconds_to_first_engagement IS 'first_engaged_at - sent_at, in seconds';
COMMENT ON COLUMN marts.message_latency.current_event_type IS 'the send event''s current status';
COMMENT ON COLUMN marts.message_latency.transitions IS 'status changes seen for the send event (core.status_history)';

CREATE TABLE marts.campaign_delivery_latency (
    source                   text        NOT NULL,
    channel                  text        NOT NULL,
    campaign_id              text        COLLATE "C",
    campaign_name            text,
    sandbox                  boolean     NOT NULL,
    messages                 bigint      NOT NULL,
    delivered                bigint      NOT NULL,
    timed_deliveries         bigint      NOT NULL,
    delivery_p50_seconds     double precision,
    delivery_p90_seconds     double precision,
    delivery_p95_seconds     double precision,
    delivery_p99_seconds     double precision,
    engaged                  bigint      NOT NULL,
    timed_engagements        bigint      NOT NULL,
    engagement_p50_seconds   double precision,
    engagement_p90_seconds   double precision,
    first_sent_at            timestamptz NOT NULL,
    last_sent_at             timestamptz NOT NULL
);
CREATE INDEX campaign_delivery_latency_idx ON marts.campaign_delivery_latency (source, channel, campaign_id);
COMMENT ON TABLE marts.campaign_delivery_latency IS
    'Grain: source x channel x campaign, as marts.campaign_performance (the funnel), beside which it '
    'sits: delivery and first-engagement latency percentiles over the campaign''s messages '
    '(marts.message_latency), continuous (interpolated) percentiles over the messages with a known time.';
COMMENT ON COLUMN marts.campaign_delivery_latency.messages IS 'messages sent';
COMMENT ON COLUMN marts.campaign_delivery_latency.delivered IS 'messages that reached a delivered state';
COMMENT ON COLUMN marts.campaign_delivery_latency.timed_deliveries IS 'delivered messages with a known delivery time (the percentiles'' population)';
COMMENT ON COLUMN marts.campaign_delivery_latency.delivery_p50_seconds IS 'median seconds from send to delivery';
COMMENT ON COLUMN marts.campaign_delivery_latency.engaged IS 'messages opened, clicked or replied to';
COMMENT ON COLUMN marts.campaign_delivery_latency.timed_engagements IS 'engaged messages with a known time';
COMMENT ON COLUMN marts.campaign_delivery_latency.engagement_p50_seconds IS 'median seconds from send to first engagement';

CREATE TABLE marts.customer_360 (
    recipient_pseudonym     text        COLLATE "C" NOT NULL,
    sandbox                 boolean     NOT NULL,
    sources                 text[]      NOT NULL,
    channels                text[]      NOT NULL,
    events                  bigint      NOT NULL,
    first_activity_at       timestamptz NOT NULL,
    last_activity_at        timestamptz NOT NULL,
    last_outbound_at        timestamptz,
    last_inbound_at         timestamptz,
    last_engagement_at      timestamptz,
    last_opt_out_at         timestamptz,
    last_opt_out_channel    text,
    last_opt_in_at          timestamptz,
    sms_last_at             timestamptz,
    sms_last_event_type     text,
    sms_last_campaign_name  text,
    mms_last_at             timestamptz,
    mms_last_event_type     text,
    mms_last_campaign_name  text,
    email_last_at           timestamptz,
    email_last_event_type   text,
    email_last_campaign_name text,
    whatsapp_last_at        timestamptz,
    whatsapp_last_event_type text,
    whatsapp_last_campaign_name text,
    app_push_last_at        timestamptz,
    app_push_last_event_type text,
    app_push_last_campaign_name text,
    ussd_last_at            timestamptz,
    ussd_last_event_type    text,
    ussd_last_campaign_name text,
    obd_last_at             timestamptz,
    obd_last_event_type     text,
    obd_last_campaign_name  text
);
CREATE INDEX customer_360_recipient_idx ON marts.customer_360 (recipient_pseudonym);
COMMENT ON TABLE marts.customer_360 IS
    'Grain: one recipient (by keyed pseudonym, across every source and channel). Their activity in '
    'brief and their latest event on each channel, as a support team asks for it. Finding a '
    'customer''s pseudonym from their number or email is for pii_reader (core.message_events).';
COMMENT ON COLUMN marts.customer_360.recipient_pseudonym IS 'keyed pseudonym of the phone, email or app id';
COMMENT ON COLUMN marts.customer_360.sandbox IS 'every event of theirs is synthetic (the local sandbox)';
COMMENT ON COLUMN marts.customer_360.events IS 'their events, all sources';
COMMENT ON COLUMN marts.customer_360.last_engagement_at IS 'their latest open, click or reply';
COMMENT ON COLUMN marts.customer_360.last_opt_out_at IS 'their latest unsubscribe, DND addition or stop reply';
COMMENT ON COLUMN marts.customer_360.last_opt_out_channel IS 'the channel of that opt-out';
COMMENT ON COLUMN marts.customer_360.last_opt_in_at IS 'their latest opt-in (subscribed: a DND removal)';
COMMENT ON COLUMN marts.customer_360.sms_last_at IS
    'their latest SMS event (and likewise mms_, email_, whatsapp_, app_push_, ussd_, obd_)';
COMMENT ON COLUMN marts.customer_360.sms_last_event_type IS 'its current status';
COMMENT ON COLUMN marts.customer_360.sms_last_campaign_name IS 'its campaign (program, deployment) name';

-- For analysts: the history as status changes, and how fresh the mart tables are. Views run with
-- their owner's rights on tables, so analysts need nothing in core or ops.
CREATE VIEW marts.status_transitions AS
SELECT history_id, event_id, source, channel, from_status_raw, to_status_raw,
       from_event_type, to_event_type, from_occurred_at, occurred_at, observed_at, run_id
FROM core.status_history;
COMMENT ON VIEW marts.status_transitions IS
    'Grain: one change of an event''s vendor status seen by a load (core.status_history); join '
    'marts.message_events on event_id.';

CREATE VIEW marts.freshness AS
SELECT r.refreshed_at, r.time_zone, r.full_refresh, r.reason,
       (SELECT max(v.last_event_at) FROM marts.volume_daily AS v WHERE v.time_zone = 'UTC') AS newest_event_at
FROM ops.mart_refreshes AS r
ORDER BY r.refresh_id DESC
LIMIT 1;
COMMENT ON VIEW marts.freshness IS
    'When the mart tables were last refreshed, in which reporting zone, and the newest event they hold';

------------------------------------------------------------------------------------------------
-- Who reads and writes what (0007's default privileges apply only when the migrator makes them).
------------------------------------------------------------------------------------------------
GRANT SELECT, INSERT, UPDATE, DELETE ON core.status_history TO warehouse_loader;
GRANT SELECT ON core.stop_words TO warehouse_loader;
GRANT SELECT, INSERT, DELETE ON core.stop_replies TO warehouse_loader;
GRANT SELECT, INSERT, DELETE ON ops.mart_dirty_days, ops.mart_refreshes TO warehouse_loader;
GRANT SELECT, INSERT, DELETE ON marts.volume_daily, marts.volume_hourly, marts.failures_daily,
    marts.engagement_by_hour, marts.opt_outs_daily, marts.message_latency,
    marts.campaign_delivery_latency, marts.customer_360 TO warehouse_loader;
GRANT SELECT ON marts.status_transitions, marts.freshness TO warehouse_loader;
GRANT SELECT ON marts.volume_daily, marts.volume_hourly, marts.failures_daily,
    marts.engagement_by_hour, marts.opt_outs_daily, marts.message_latency,
    marts.campaign_delivery_latency, marts.customer_360, marts.status_transitions,
    marts.freshness TO analyst;
GRANT SELECT ON core.status_history, core.stop_words, core.stop_replies TO pii_reader;
