"""Lore's knowledge engine: settings, errors, index, embeddings, search, answers and the web API."""
