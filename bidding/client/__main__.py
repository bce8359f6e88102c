"""``python -m bidding.client COMMAND …``."""

import sys

from bidding.client.cli import main

sys.exit(main())
