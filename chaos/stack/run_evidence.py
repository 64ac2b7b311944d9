"""A stack's share of each run's evidence: the event log per run, every component's log from
where the run began, Toxiproxy's state, what ran; redacted on the way out (chaos.evidence.write).
And the logs a failed or kept stack leaves behind. A mixin of SupervisedStack."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from chaos.evidence import layout
from chaos.evidence.write import copy_redacted
from chaos.run.events import EventLog


class RunEvidence:
    def component_logs(self) -> dict[str, Path]:
        return {p.stem: p for p in sorted(self.log_dir.glob("*.log"))}

    def begin_run(self, events_path: Path, since: float | None = None) -> dict[str, int]:
        """A run starts on this stack: from now on its events go to `events_path` (with those
        from `since` on, e.g. the reset before it); returns where each component log stands, for
        export_evidence()."""
        self._use_events(self.events.copy_to(events_path, since))
        return {name: path.stat().st_size for name, path in self.component_logs().items()} if since is not None else {}

    def _use_events(self, log: EventLog) -> None:
        self.events = log
        if self._supervisor:
            self._supervisor.events = log
        if self._model_reads:
            self._model_reads.events = log

    def end_run(self) -> None:
        """The run is over: what happens from now on (a reset for the next run) is not its evidence."""
        self._use_events(EventLog())

    def export_evidence(self, target: Path, marks: dict[str, int]) -> None:
        """A run's share of the evidence, into its folder: every component's log from `marks` on
        (all of it for a fresh stack), Toxiproxy's state now, what ran; keys redacted."""
        self._snapshot_toxiproxy()
        events = target / layout.EVENTS
        if not events.exists():  # the stack failed before the run began: its own start is the story
            self.events.copy_to(events)
        self._copy_out(target, events, marks)

    def _copy_out(self, target: Path, events: Path, marks: dict[str, int]) -> None:
        """The component logs (each from its mark), the Toxiproxy state, the event log and what
        ran, redacted, into `target`."""
        for path in sorted(self.log_dir.iterdir()):
            if path.is_file():
                copy_redacted(path, target / layout.LOGS / path.name, self.redact, offset=marks.get(path.stem, 0))
        if events.exists():
            copy_redacted(events, target / layout.EVENTS, self.redact)
        (target / layout.STACK).write_text(self.redact(json.dumps(self.describe(), indent=2)))

    def _snapshot_toxiproxy(self) -> None:
        """Toxiproxy's proxies and toxics as they are now, into the logs (it is gone after close)."""
        if self.toxiproxy and self.toxiproxy.process.running():
            try:
                state = self.toxiproxy.state()
            except (httpx.HTTPError, ValueError) as exc:
                state = {"error": f"could not read Toxiproxy's state: {exc}"}
            (self.log_dir / layout.TOXIPROXY_STATE).write_text(json.dumps(state, indent=2))

    def _keep_evidence(self, failed: bool) -> None:
        """A stack that failed (or keeps its logs always) leaves them in the evidence folder."""
        keep = self.config.keep_logs == "always" or (failed and self.config.keep_logs == "on_failure")
        if not keep or not self.log_dir.exists():
            return
        target = self.config.evidence_dir or Path.cwd() / "chaos-results" / "runs" / self.run_id
        self._copy_out(target, self.run_dir / layout.EVENTS, {})
        self.evidence_path = target
        if failed:
            self.log(f"run {self.run_id} failed; evidence kept in {target}")
