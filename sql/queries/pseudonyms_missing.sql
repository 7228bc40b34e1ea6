-- Events loaded before the loader stamped pseudonyms (migration 0007): a batch of them.
SELECT event_id, recipient
FROM core.message_events
WHERE recipient_pseudonym IS NULL
LIMIT %(batch)s
