"""Agencies: admission, certificates, credit and red/black lists (next issue)."""
