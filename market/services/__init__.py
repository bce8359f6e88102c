"""Services write: each public function checks permission and input, locks, changes state, audits
and publishes in one transaction. Views and commands call these and nothing below them."""
