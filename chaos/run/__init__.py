"""The run: a plan (settings + scenario -> what to start and how hard to drive it), the runner
that executes it as named phases, the step interpreter, the history of operations and the event
log, and the live progress line."""
