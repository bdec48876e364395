"""The local web UI (``dagwright ui``): runs, DAGs, logs, artifacts, lineage and schedules."""
