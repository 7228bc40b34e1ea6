-- The reporting zone of this refresh (an IANA name, checked by the settings).
INSERT INTO refresh_zone (time_zone) VALUES (%(time_zone)s)
