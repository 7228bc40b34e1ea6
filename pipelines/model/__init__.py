"""The shared model every source normalizes into: the message event, E.164 phone numbers,
vendor timestamps, and the one clock. Depends on nothing else of the product."""
