"""Services that write bids, opening keys and the opening: each checks, locks, writes and audits in
one transaction."""
