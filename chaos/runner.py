"""One run = stack + traffic + schedule + oracle -> evidence folder + verdict.

Phases: start the stack; traffic at every (worker, model) pair, every worker's listings and
through the front door; a baseline window (no fault: every pair must succeed, else the run is
"aborted: baseline not met"); the schedule's steps (chaos.interpreter); heal-all (always, in a
finally); a recovery window, from when every worker restarted late in the schedule listens; a
final probe round and DB read; the checkers, each invariant with its role in the scenario
(contract or advisory)."""

from __future__ import annotations

import functools
import json
import secrets
import time
import traceback
from dataclasses import asdict, replace
from pathlib import Path

import psycopg

from .errors import ChaosError, UsageError
from .faults import FaultError, StackShape, make_fault
from .history import History
from .interpreter import Bounds, StepInterpreter
from .litellm_env import ensure_env, env_from_venv
from .oracle.checkers import check_all
from .oracle.classify import INVALID_MODEL, OK
from .oracle.decide import decided_by
from .oracle.context import CheckContext
from .oracle.verdict import ABORTED, Verdict, counts_of, verdict_of
from .progress import Progress
from .scenario import Scenario
from .schedule import Schedule
from .stack import BACKENDS, Stack, StackConfig
from .stack.pool import StackPool
from .stack.model_reads import MODEL_TABLE
from .traffic import TrafficConfig, TrafficEngine

__all__ = ["Run", "Scenario", "check_schedule", "baseline_problem"]


def evidence_dir(results: Path, scenario: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = results / scenario / f"{stamp}-{secrets.token_hex(3)}"
    path.mkdir(parents=True)
    latest = results / scenario / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(path.name)
    return path


class Run:
    def __init__(self, scenario: Scenario, stack_config: StackConfig, traffic: TrafficConfig = TrafficConfig(),
                 results: Path = Path("chaos-results"), *, backend: str = "local", progress: Progress | None = None,
                 keep_stack: bool = False, full_window: bool = False, tail_s: float = 3.0, pool: StackPool | None = None):
        scenario.validate()
        check_schedule(scenario.schedule, StackShape(stack_config.validate().replicas))  # before anything starts
        if backend == "local":  # a bad --litellm-venv or version is one line here, with nothing started
            env_from_venv(stack_config.litellm_venv) if stack_config.litellm_venv else ensure_env(stack_config.litellm_version)
        self.scenario = scenario
        self.traffic_config = traffic.validate()
        self.progress = progress or Progress(scenario.name)  # default: no progress line, log lines to stderr
        self.log = self.progress.log
        self.results = results
        self.stack_config = stack_config
        if backend not in BACKENDS:
            raise UsageError(f"unknown backend {backend!r}; expected one of: {', '.join(BACKENDS)}")
        self.backend = backend
        self.keep_stack = keep_stack  # a failing run leaves its stack up for a person to look at
        self.full_window = full_window  # keep the whole recovery window instead of ending once decided
        self.tail_s = tail_s  # probes kept after every contract invariant is decided
        self.pool = pool  # a warm stack shared with other runs (None: a stack of its own, torn down after)
        self.reuse: dict = {}  # how this run got its stack (fresh, or reused after a reset)
        self.touched: set[str] = set()  # the workers this run touched (restarted at the next reset)
        self.evidence: Path | None = None
        self.stack: Stack | None = None
        self.kept_stack = False
        self.verdict: Verdict | None = None

    def execute(self) -> Verdict:
        self.evidence = evidence_dir(self.results, self.scenario.name)
        stack_fields = self.scenario.stack | {"replicas": self.stack_config.replicas}
        self.scenario.evidence_schedule(stack_fields).save(self.evidence / "schedule.json")
        self._write_user_config()
        config = replace(self.stack_config, evidence_dir=None, keep_logs="never")  # the run exports its own evidence
        pool = self.pool or StackPool(self.backend, log=self.log, fresh=True)
        verdict, marks, self.touched = None, {}, set()
        t_start = time.monotonic()
        with self.progress:
            try:
                self.log(f"[{self.scenario.name}] stack: LiteLLM {config.litellm_version}, {config.replicas} replicas")
                self.stack, self.reuse = pool.acquire(config)
                marks = self.stack.begin_run(self.evidence / "events.jsonl", since=self.reuse.pop("since"))
                verdict = self._run_traffic_and_schedule()
            except ChaosError as exc:
                verdict = Verdict(status=ABORTED, scenario=self.scenario.name, reason=f"harness error: {exc}")
            except Exception as exc:  # noqa: BLE001 - a harness bug: the run still ends with its verdict
                where = traceback.extract_tb(exc.__traceback__)[-1]
                verdict = Verdict(status=ABORTED, scenario=self.scenario.name,
                                  reason=f"harness bug: {type(exc).__name__}: {exc} (at {Path(where.filename).name}:{where.lineno})")
                self.log(traceback.format_exc())
            finally:
                self._finish(verdict, pool, marks, t_start)
            self.progress.set_phase("report")
            self._render_report()
        return self.verdict

    def _write_user_config(self) -> None:
        """--litellm-config: what of the user's file the stack overrode, and the file with its secrets removed."""
        from . import user_config

        c = self.stack_config
        if c.litellm_config is None:
            return
        for line in c.user_overrides:
            self.log(f"[{self.scenario.name}] --litellm-config override: {line}")
        sanitized = user_config.sanitize(user_config._load_yaml(c.litellm_config, "--litellm-config"))
        (self.evidence / "config-overrides.json").write_text(json.dumps(
            {"source": str(c.litellm_config), "overrides": list(c.user_overrides), "config_without_secrets": sanitized}, indent=2))

    def _finish(self, verdict: Verdict | None, pool: StackPool, marks: dict, t_start: float) -> None:
        """Whatever happened: the verdict and the evidence written, the stack kept, handed back or torn down."""
        failed = verdict is None or verdict.status != "pass"
        stack = self.stack or pool.stack
        if verdict is not None:
            verdict.stack = stack.describe() if stack else {}
            verdict.stack["reuse"] = self.reuse
            verdict.seed = self.scenario.schedule.seed
            verdict.evidence = str(self.evidence)
            verdict.traffic = asdict(self.traffic_config) | verdict.traffic
            verdict.durations["total_s"] = round(time.monotonic() - t_start, 2)
            text = json.dumps(verdict.to_json(), indent=2, default=str)
            (self.evidence / "verdict.json").write_text(stack.redact(text) if stack else text)
        self.verdict = verdict
        if stack is None:
            return
        if stack.run_dir.exists():
            stack.export_evidence(self.evidence, marks)
        stack.end_run()
        if failed and self.keep_stack and self.pool is None and verdict is not None and stack.status == "ready":
            stack.keep_for_inspection()
            self.kept_stack = True
            pool.stack = None
            return
        self.progress.set_phase("teardown")
        healthy = verdict is not None and verdict.status != ABORTED
        pool.release(self.touched if healthy else set(stack.worker_names()), healthy=healthy)
        if self.pool is None:
            pool.close()

    def _render_report(self) -> None:
        """timeline.png and report.html; a renderer bug must not hide the verdict."""
        from .report.html import render_report

        try:
            render_report(self.evidence)
        except Exception as exc:  # noqa: BLE001 - reported in one line, the verdict stands
            self.log(f"[{self.scenario.name}] could not render the report: {type(exc).__name__}: {exc}")

    @functools.cached_property
    def verdict_block(self) -> str:
        """The console summary of the finished run, read back from its evidence folder."""
        from .report.evidence import load_evidence
        from .report.summary import verdict_block

        text = verdict_block(load_evidence(self.evidence))
        if self.kept_stack:
            text += "\n" + self.stack.inspection_hint()
        return text

    # --------------------------------------------------------------------------------
    def bounds(self) -> Bounds:
        """The recovery and propagation bounds, from the reload interval of the LiteLLM that runs."""
        return self.scenario.bounds.bounds(self.stack.reload_interval_s)

    def _run_traffic_and_schedule(self) -> Verdict:
        stack, schedule = self.stack, self.scenario.schedule
        bounds = self.bounds()
        history = History(self.evidence / "history.jsonl")
        workers = {w.name: w.url for w in stack.workers()}
        front_door = stack.front_door.url if stack.front_door else None
        engine = TrafficEngine(workers, list(stack.config.models), stack.master_key, history, self.traffic_config,
                               front_door_url=front_door).start()
        self.progress.watch(lambda: engine.sent, lambda: history.invalid_model_by_worker)
        self.progress.set_phase("baseline")
        interpreter = StepInterpreter(stack, engine, bounds, self.log, self.scenario.name)
        try:
            t_base = time.monotonic()
            time.sleep(schedule.baseline_s)
            baseline = (t_base, time.monotonic())
            problem = baseline_problem(history.ops, t_base, workers, stack.config.models)
            if problem:
                return Verdict(status=ABORTED, scenario=self.scenario.name, reason=f"baseline not met: {problem}",
                               counts=counts_of(history.ops))
            stack.events.record("baseline_met", window_s=schedule.baseline_s)
            self.log(f"[{self.scenario.name}] baseline met; running {len(schedule.steps)} step(s)")
            self.progress.set_phase("faults")
            try:
                interpreter.run(schedule)
            finally:
                self.touched = interpreter.touched
                heal_errors = interpreter.heal_all()
                heal_t = time.monotonic()
                stack.events.record("heal_all")
            if heal_errors:
                raise FaultError("; ".join(heal_errors))
            waited = interpreter.await_listening(list(workers))
            if waited:  # the recovery clock starts once a worker restarted late in the schedule listens
                self.log(f"[{self.scenario.name}] healed; waited for restarted workers to listen: {'; '.join(waited)}")
                heal_t = time.monotonic()
            recovery = max(schedule.recovery_s, bounds.recovery_s + 2)
            self.log(f"[{self.scenario.name}] healed; recovery window {recovery:.0f} s (bound {bounds.recovery_s:.0f} s)"
                     + ("" if self.full_window else f", ending once the contract is decided (+{self.tail_s:g} s)"))
            self.progress.set_phase("recovery")
            ended_by = self._recovery_window(history, heal_t, recovery, bounds, list(workers))
            end_t = time.monotonic()
            self.progress.set_phase("checking")
            engine.pause_probes()
            time.sleep(0.2)
            final = [engine.call(engine.chat(w, m)) for w in workers for m in stack.config.models]
            db_models, db_error = self._db_models()
        finally:
            engine.stop()
            history.close()
            for worker, since, until in engine.stalls:
                stack.events.record("probe_stall", t=since, worker=worker, seconds=round(until - since, 3))
        ctx = CheckContext(
            workers=list(workers), models=list(stack.config.models), events=stack.events.events(), heal_t=heal_t,
            end_t=end_t, recovery_bound_s=bounds.recovery_s, propagation_bound_s=bounds.propagation_s,
            final_db_models=db_models, final_db_error=db_error, readiness_max_age_s=max(2.0, 4 * self.traffic_config.readiness_interval_s),
            baseline=baseline, front_door=front_door is not None and self.traffic_config.front_door_rate > 0,
            config_models=list(stack.config.config_models),
        )
        invariants = check_all(history.ops, ctx, list(self.scenario.contract), list(self.scenario.advisory))
        verdict = verdict_of(self.scenario.name, invariants, history.ops)
        verdict.traffic = {"direct_chat_rate_per_worker": round(engine.direct_rate, 2),
                           "per_pair_interval_s": {"planned": round(len(stack.config.models) / engine.direct_rate, 3)}
                           | pair_intervals(history.ops, baseline[0], end_t)}
        verdict.durations = {"recovery_window_s": round(end_t - heal_t, 2), "full_window_s": recovery, "ended_by": ended_by,
                             "bound_s": bounds.recovery_s,
                             "propagation_bound_s": bounds.propagation_s, "requests": engine.sent,
                             "final_round_ok": sum(op.cls == OK for op in final),
                             # seconds in which a worker was not probed (harness starved of CPU)
                             "probe_stall_s": round(sum(until - since for _, since, until in engine.stalls), 2)}
        return verdict

    def _recovery_window(self, history: History, heal_t: float, window_s: float, bounds: Bounds, workers: list[str]) -> str:
        """Probe until every contract invariant is decided (+ the tail), or the whole window
        with --full-window; returns why the run ended (also an event)."""
        full_end = heal_t + window_s
        if self.full_window:
            time.sleep(window_s)
            self.stack.events.record("run_decided", by="full window", after_heal_s=round(window_s, 2))
            return f"the full recovery window ({window_s:.0f} s)"
        read_back = bounds.propagation_s if any((s.create_models or {}).get("read_until_bound") for s in self.scenario.schedule.steps) else 0.0
        while True:
            now = time.monotonic()
            ctx = CheckContext(workers=workers, models=list(self.stack.config.models), events=[], heal_t=heal_t, end_t=now,
                               recovery_bound_s=bounds.recovery_s, propagation_bound_s=bounds.propagation_s)
            ops = list(history.ops)
            t, why, name = max((*decided_by(n, ops, ctx, read_back), n) for n in self.scenario.contract)
            if now >= min(t, full_end) + self.tail_s or now >= full_end:
                reason = (f"{name} decided ({why}) {max(t, heal_t) - heal_t:.1f} s after heal, + {self.tail_s:g} s tail"
                          if t < full_end else f"the full recovery window ({window_s:.0f} s): {name} needs it")
                self.stack.events.record("run_decided", by=name, why=why, after_heal_s=round(now - heal_t, 2))
                return reason
            time.sleep(min(1.0, max(0.05, min(t, full_end) + self.tail_s - now)))

    def _db_models(self) -> tuple[list[str] | None, str | None]:
        """(model names in the DB, None), or (None, why the read failed)."""
        try:
            with psycopg.connect(self.stack.postgres.dsn(), connect_timeout=5) as conn:
                return [r[0] for r in conn.execute(f'SELECT model_name FROM "{MODEL_TABLE}"')], None
        except psycopg.Error as exc:
            return None, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


def check_schedule(schedule: Schedule, shape: StackShape) -> None:
    """Every worker, link and fault parameter a schedule names must exist on the stack."""
    unknown = schedule.workers_named() - set(shape.worker_names())
    if unknown:
        raise UsageError(f"schedule {schedule.name!r} names worker(s) {sorted(unknown)}; the stack has {', '.join(shape.worker_names())}")
    for step in schedule.steps:
        if step.apply is not None:
            make_fault(step.apply, shape)


def pair_intervals(ops, since: float, until: float) -> dict:
    """How often each (worker, model) pair was probed directly in [since, until]: the median over
    pairs of their median gap between probes, and the worst pair's median gap (seconds)."""
    times: dict[tuple, list[float]] = {}
    for op in ops:
        if op.f == "chat" and op.via is None and since <= op.t0 <= until:
            times.setdefault((op.worker, op.model), []).append(op.t0)
    medians = []
    for ts in times.values():
        ts.sort()
        gaps = sorted(b - a for a, b in zip(ts, ts[1:]))
        if gaps:
            medians.append(gaps[len(gaps) // 2])
    if not medians:
        return {}
    medians.sort()
    return {"achieved_median": round(medians[len(medians) // 2], 3), "achieved_worst_pair": round(medians[-1], 3)}


def baseline_problem(ops, since: float, workers: dict, models) -> str | None:
    """Before any fault every pair must have succeeded and none may have answered invalid_model."""
    recent = [op for op in ops if op.f == "chat" and op.via is None and op.t0 >= since]
    bad = [op for op in recent if op.cls == INVALID_MODEL]
    if bad:
        return f"{bad[0].worker} answered invalid_model for {bad[0].model} before any fault"
    ok = {(op.worker, op.model) for op in recent if op.cls == OK}
    missing = [(w, m) for w in workers for m in models if (w, m) not in ok]
    if missing:
        w, m = missing[0]
        return f"no successful request for {m} on {w} in the baseline window ({len(missing)} pair(s) missing)"
    return None
