"""Local schedules: cron expressions, and the cron daemon (``dagwright scheduler``) that fires
the store's schedules by starting their runs as processes. It knows the store, not the engine."""
