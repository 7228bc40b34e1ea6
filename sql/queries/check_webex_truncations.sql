-- Webex key-days that filled a whole answer on their own: older transactions may be missing.
SELECT key, local_date, returned FROM ops.webex_truncations ORDER BY local_date DESC, key
