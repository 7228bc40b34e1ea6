-- Stamp a batch of events with their recipients' pseudonyms (computed by the caller, who holds
-- the key: the key itself never enters the database).
UPDATE core.message_events AS e
SET recipient_pseudonym = f.pseudonym
FROM unnest(%(event_ids)s::text[], %(pseudonyms)s::text[]) AS f (event_id, pseudonym)
WHERE e.event_id = f.event_id
