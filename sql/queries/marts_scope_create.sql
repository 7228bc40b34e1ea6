-- The scope of one refresh of the mart tables, dropped at its commit: the reporting zone, the
-- load marks it consumes, the days to recompute (the marked UTC days, and every day of the
-- reporting zone that overlaps one), and the messages, campaigns and recipients whose events
-- those loads wrote, whose rows are recomputed whole.
CREATE TEMP TABLE refresh_zone (time_zone text NOT NULL) ON COMMIT DROP;
CREATE TEMP TABLE refresh_marks (mark_id bigint, day date NOT NULL, marked_at timestamptz) ON COMMIT DROP;
CREATE TEMP TABLE refresh_days (
    time_zone text        NOT NULL,
    reporting boolean     NOT NULL,
    day       date        NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at   timestamptz NOT NULL
) ON COMMIT DROP;
CREATE TEMP TABLE refresh_messages (
    source              text NOT NULL,
    recipient           text COLLATE "C" NOT NULL,
    recipient_pseudonym text COLLATE "C",
    message_key         text NOT NULL
) ON COMMIT DROP;
CREATE TEMP TABLE refresh_campaigns (
    source      text NOT NULL,
    channel     text NOT NULL,
    campaign_id text COLLATE "C"
) ON COMMIT DROP;
CREATE TEMP TABLE refresh_recipients (
    recipient           text COLLATE "C" NOT NULL,
    recipient_pseudonym text COLLATE "C"
) ON COMMIT DROP
