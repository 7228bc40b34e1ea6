"""Webex Campaign customer transactions: the last transactions of each configured customer key
(MSISDN, email or app device id), pulled incrementally from a per-key watermark."""
