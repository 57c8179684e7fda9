"""Slack channels as a source: one document per thread, channel membership as the ACL (see source.py)."""
