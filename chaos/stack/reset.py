"""The warm reset between runs on one stack: every fault healed, the DB as seeded, and every
worker the last run touched (or that does not serve every model now) restarted and ready.
A mixin of SupervisedStack."""

from __future__ import annotations

import time

from chaos.errors import StackStartError
from chaos.run.events import Event
from chaos.stack.base import WorkerState
from chaos.stack.components import db_state, seed
from chaos.traffic.litellm_api import LiteLLMClient


class WarmReset:
    def reset(self, touched: set[str]) -> dict:
        """Back to the state a run starts from: every fault healed (Toxiproxy reset, HAProxy's
        server ready, PostgreSQL and HAProxy running, nothing paused), the DB as seeded, and every
        worker the last run touched, or that does not serve every model now, restarted (crash
        mode: no grace to wait for) and ready. Returns what it did; raises when it cannot."""
        t0 = time.monotonic()
        done: list[str] = []
        self.events.record(Event.RESET_STARTED, touched=sorted(touched))
        if not self.postgres.process.running():
            self.postgres.start()
            done.append("started PostgreSQL")
        if self.postgres.process.paused():
            self.postgres.process.resume()
            done.append("resumed PostgreSQL")
        if not self.haproxy.process.running():
            self.haproxy.start()
            done.append("started HAProxy")
        self.haproxy.runtime("set server postgres/pg1 state ready")
        if not self.haproxy.wait_server_status("UP", 10):
            raise StackStartError("reset: HAProxy does not see PostgreSQL UP")
        self.toxiproxy.reset()
        changed = db_state.restore(self.postgres.dsn(), self._db_state)
        if any(changed.values()):
            done.append(f"DB restored {changed}")
            touched = set(self._worker_names())  # every router holds the changed models
        for name in self._worker_names():
            worker = self._worker(name)
            if worker.state == WorkerState.PAUSED:
                self.resume_worker(name)
        restart = sorted(touched | self._not_serving(set(self._worker_names()) - touched))
        for name in restart:
            self.restart_worker(name, mode="crash")
        for name in restart:
            self.wait_ready(name)
        if restart:
            done.append(f"restarted {', '.join(restart)}")
            with LiteLLMClient(self.master_key, timeout=10) as client:
                seed.verify_everywhere(client, {n: self._workers[n].url for n in restart}, list(self.config.models), 30)
        if self.front_door is not None:
            for name in restart:  # ready and serving: checked above; the next probe would agree
                self.front_door.admit_now(name)
            self.front_door.wait_all_up(self._worker_names(), self.config.front_door.period_s + 10)
        report = {"seconds": round(time.monotonic() - t0, 2), "did": done or ["nothing to undo"], "restarted": restart}
        self.events.record(Event.RESET_DONE, **report)
        return report

    def _not_serving(self, names: set[str]) -> set[str]:
        """Workers that do not answer every seeded model with 200 right now (a fresh baseline)."""
        with LiteLLMClient(self.master_key, timeout=5) as client:
            return {name for name in names
                    if not all(client.serves(self._workers[name].url, model) for model in self.config.models)}
