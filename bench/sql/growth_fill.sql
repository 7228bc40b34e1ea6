-- The growth bench's history: as many events as asked spread evenly, in time order as daily loads
-- leave them, over the 365 days before %(day)s, across the four sources; campaigns of about
-- five days each, a million recipients. Server-side, so ten million rows take minutes.
INSERT INTO core.message_events (
    event_id, source, channel, direction, event_type, status_raw, occurred_at, recipient,
    recipient_pseudonym, campaign_id, campaign_name, message_id, attributes, partition_date, sandbox)
SELECT g.source || ':' || md5(g.n::text), g.source,
       CASE g.source WHEN 'senderguide' THEN 'email' WHEN 'cinnox' THEN 'whatsapp' ELSE 'sms' END,
       'outbound',
       (ARRAY['sent', 'delivered', 'delivered', 'delivered', 'failed', 'opened'])[g.n %% 6 + 1],
       (ARRAY['Sent', 'Delivered', 'Delivered', 'Delivered', 'Failed', 'Opened'])[g.n %% 6 + 1],
       g.at, '+1555' || lpad((g.n %% 1000000)::text, 7, '0'), md5('p' || (g.n %% 1000000)),
       'c' || (g.n::bigint * 70 / %(rows)s), 'Campaign ' || (g.n::bigint * 70 / %(rows)s),
       'm' || g.n, jsonb_build_object('network', 'net' || g.n %% 7), (g.at AT TIME ZONE 'UTC')::date, true
FROM (SELECT n, (ARRAY['mgage', 'senderguide', 'cinnox', 'webex'])[n %% 4 + 1] AS source,
             (%(day)s::date - 365)::timestamp AT TIME ZONE 'UTC'
             + (n::double precision / %(rows)s) * interval '365 days' AS at
      FROM generate_series(0, %(rows)s - 1) AS n) AS g;
