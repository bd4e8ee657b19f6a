"""Everything that writes or queries MLflow: the store, the recorder, the tag schema, the
search's parent run, queries for tables and reports, orphans and the UI server."""
