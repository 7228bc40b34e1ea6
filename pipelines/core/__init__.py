"""Machinery shared by every source: the event model, HTTP, paging, phone numbers."""
