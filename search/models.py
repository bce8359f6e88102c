"""Search: backends, indexing, public listings (own issue)."""
