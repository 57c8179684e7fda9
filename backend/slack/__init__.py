"""Slack's Web API as the connector and the admin API need it (channels, history, members): see client.py."""
