-- How many Webex keys are followed, and on which account (a key can be both).
SELECT count(*) FILTER (WHERE configured OR listed) AS followed,
       count(*) FILTER (WHERE configured)           AS configured,
       count(*) FILTER (WHERE listed)               AS listed
FROM ops.webex_keys
