"""Meeting minutes: a recording attached to a Confluence page becomes a minutes page, exactly once.

`transcribe` (faster-whisper) -> `summarize` (the LLM, map-reduce, with an extractive fallback) ->
`render` (storage XHTML) -> `jobs.process_recording` (the rq job the connector enqueues by name) posts it.
"""
