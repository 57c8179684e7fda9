"""Confluence access for the whole product: the connector syncs through it, the API maps identities and
the minutes pipeline writes pages with it."""

from backend.confluence.client import ConfluenceClient

__all__ = ["ConfluenceClient"]
