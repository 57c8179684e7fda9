"""Lore's Slack bot (the `/ask` command). It imports `backend`, never the other way round."""
