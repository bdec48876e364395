"""dagwright's local web UI: a server over the store, its pages, artifact previews and
self-contained HTML reports. ``import dagwright`` does not load it."""
