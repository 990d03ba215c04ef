"""Jobs (importable functions taking ids), the outbox relay, and the in-process runner."""
