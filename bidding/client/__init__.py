"""The agency's command-line client: ``python -m bidding.client`` (docs/client.md).

It runs on the agency's own machine, holds the private key there, and talks to the platform only through its
HTTP API with the standard library. ``main(argv)`` runs one command in-process and returns its exit status.
"""

from bidding.client.cli import main

__all__ = ["main"]
