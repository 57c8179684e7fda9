"""Lore's connectors: they turn Confluence (and later Slack) content into documents for the index."""
