"""The evidence store: the layout of a run's folder, writing and redacting what goes into it,
and reading it back (reports, shrink, replay)."""
