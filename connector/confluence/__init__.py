"""Confluence connector: turns pages, their storage bodies and attachments into Lore documents."""
