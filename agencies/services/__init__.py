"""Services that change agencies, certificates and credit: each one checks, locks, writes, audits
in one transaction."""
