"""Lore's Slack bot (`/ask`, @-mentions, feedback buttons). It imports `backend`, never the other way round."""
