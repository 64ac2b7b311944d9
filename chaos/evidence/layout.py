"""The layout of a run's evidence folder: every file name in one place (docs/evidence-and-reports.md
says what each holds). Writers and readers (chaos.evidence.load, the reports) use these names."""

VERDICT = "verdict.json"  # the verdict, every invariant's result, what ran (version, backend, engine, machine)
HISTORY = "history.jsonl"  # every operation: invoke, then ok / fail / info
EVENTS = "events.jsonl"  # the event log (chaos.run.events.Event)
SCHEDULE = "schedule.json"  # the schedule as run: `chaos replay` takes it
STACK = "stack.json"  # the stack as started (ports, timings, the LiteLLM environment)
PRESSURE = "pressure.json"  # CPU pressure samples while the run was judged
CONFIG_OVERRIDES = "config-overrides.json"  # --litellm-config: what the stack overrode, the file without secrets
LOGS = "logs"  # every component's log, keys redacted
TOXIPROXY_STATE = "toxiproxy-state.json"  # in LOGS: proxies and toxics at the end
TIMELINE = "timeline.png"
REPORT = "report.html"
# folders of many runs (explore, the nightly, selftest, shrink)
SUMMARY = "summary.html"
SELFTEST = "selftest.json"
SHRINK = "shrink.json"

# a folder missing one of these is not a run's evidence
REQUIRED = (VERDICT, HISTORY, EVENTS, SCHEDULE, STACK)
