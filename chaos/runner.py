"""One run = stack + traffic + schedule + oracle -> evidence folder + verdict.

Phases: start the stack; traffic at every (worker, model) pair; a baseline window (no fault: every
pair must succeed, else the run is "aborted: baseline not met"); the schedule's steps; heal-all
(always, in a finally); a recovery window; a final probe round and DB read; the checkers."""

from __future__ import annotations

import asyncio
import functools
import json
import secrets
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import psycopg

from .errors import ChaosError, UsageError
from .faults import Fault, FaultError, StackShape, make_fault
from .history import History
from .progress import Progress
from .oracle.checkers import CheckContext, check_all
from .oracle.classify import INVALID_MODEL, OK
from .oracle.verdict import ABORTED, Verdict, counts_of, verdict_of
from .schedule import Schedule, Step
from .stack import BACKENDS, Stack, StackConfig, open_stack
from .stack.model_reads import MODEL_TABLE
from .traffic import TrafficConfig, TrafficEngine


@dataclass
class Scenario:
    name: str
    title: str
    schedule: Schedule
    stack: dict = field(default_factory=dict)  # StackConfig fields for this scenario
    checks: list[str] | None = None  # None: every invariant
    recovery_reloads: float = 2.0  # recovery and propagation bounds, in reload intervals
    min_bound_s: float = 20.0  # never tighter than LiteLLM's own reconnect timing allows


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
                 keep_stack: bool = False):
        scenario.schedule.validate(scenario.name)
        check_schedule(scenario.schedule, StackShape(stack_config.validate().replicas))  # before anything starts
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
        self.evidence: Path | None = None
        self.stack: Stack | None = None
        self.kept_stack = False
        self.verdict: Verdict | None = None

    def execute(self) -> Verdict:
        self.evidence = evidence_dir(self.results, self.scenario.name)
        stack_fields = self.scenario.stack | {"replicas": self.stack_config.replicas}
        replace(self.scenario.schedule, stack=stack_fields).save(self.evidence / "schedule.json")
        config = replace(self.stack_config, evidence_dir=self.evidence, keep_logs="always")
        self.stack = open_stack(config, self.backend, log=self.log)
        verdict = None
        t_start = time.monotonic()
        with self.progress:
            try:
                self.log(f"[{self.scenario.name}] starting the stack (LiteLLM {config.litellm_version}, {config.replicas} replicas)")
                self.stack.start()
                verdict = self._run_traffic_and_schedule()
            except ChaosError as exc:
                verdict = Verdict(status=ABORTED, scenario=self.scenario.name, reason=f"harness error: {exc}")
            finally:
                failed = verdict is None or verdict.status != "pass"
                if verdict is not None:
                    verdict.stack = self.stack.describe()
                    verdict.seed = self.scenario.schedule.seed
                    verdict.evidence = str(self.evidence)
                    verdict.traffic = asdict(self.traffic_config)
                    verdict.durations["total_s"] = round(time.monotonic() - t_start, 2)
                    (self.evidence / "verdict.json").write_text(self.stack.redact(json.dumps(verdict.to_json(), indent=2, default=str)))
                if failed and self.keep_stack and verdict is not None and self.stack.status == "ready":
                    self.stack.keep_for_inspection()
                    self.kept_stack = True
                else:
                    self.progress.set_phase("teardown")
                    self.stack.close(failed=failed)
            self.progress.set_phase("report")
            self._render_report()
        self.verdict = verdict
        return verdict

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
    def bound_s(self) -> float:
        """The recovery and propagation bound: a number of reload intervals, never below min_bound_s."""
        return max(self.scenario.recovery_reloads * self.stack.reload_interval_s, self.scenario.min_bound_s)

    def _run_traffic_and_schedule(self) -> Verdict:
        stack, schedule = self.stack, self.scenario.schedule
        bound = self.bound_s()
        history = History(self.evidence / "history.jsonl")
        workers = {w.name: w.url for w in stack.workers()}
        engine = TrafficEngine(workers, list(stack.config.models), stack.master_key, history, self.traffic_config).start()
        self.progress.watch(lambda: engine.sent, lambda: history.invalid_model_by_worker)
        self.progress.set_phase("baseline")
        try:
            t_base = time.monotonic()
            time.sleep(schedule.baseline_s)
            problem = baseline_problem(history.ops, t_base, workers, stack.config.models)
            if problem:
                return Verdict(status=ABORTED, scenario=self.scenario.name, reason=f"baseline not met: {problem}",
                               counts=counts_of(history.ops))
            stack.events.record("baseline_met", window_s=schedule.baseline_s)
            self.log(f"[{self.scenario.name}] baseline met; running {len(schedule.steps)} step(s)")
            self.progress.set_phase("faults")
            applied: dict[str, Fault] = {}
            try:
                self._steps(schedule, engine, applied)
            finally:
                for step_id, fault in reversed(list(applied.items())):
                    self._heal(step_id, fault)
                heal_t = time.monotonic()
                stack.events.record("heal_all")
            recovery = max(schedule.recovery_s, bound + 2)
            self.log(f"[{self.scenario.name}] healed; recovery window {recovery:.0f} s (bound {bound:.0f} s)")
            self.progress.set_phase("recovery")
            time.sleep(recovery)
            end_t = time.monotonic()
            self.progress.set_phase("checking")
            engine.pause_probes()
            time.sleep(0.2)
            final = [engine.call(engine.chat(w, m)) for w in workers for m in stack.config.models]
            db_models = self._db_models()
        finally:
            engine.stop()
            history.close()
            for worker, since, until in engine.stalls:
                stack.events.record("probe_stall", t=since, worker=worker, seconds=round(until - since, 3))
        ctx = CheckContext(
            workers=list(workers), models=list(stack.config.models), events=stack.events.events(), heal_t=heal_t,
            end_t=end_t, recovery_bound_s=bound, propagation_bound_s=bound, final_db_models=db_models,
            readiness_max_age_s=max(2.0, 4 * self.traffic_config.readiness_interval_s),
        )
        verdict = verdict_of(self.scenario.name, check_all(history.ops, ctx, self.scenario.checks), history.ops)
        verdict.durations = {"recovery_window_s": recovery, "bound_s": bound, "requests": engine.sent,
                             "final_round_ok": sum(op.cls == OK for op in final),
                             # seconds in which a worker was not probed (harness starved of CPU)
                             "probe_stall_s": round(sum(until - since for _, since, until in engine.stalls), 2)}
        return verdict

    def _steps(self, schedule: Schedule, engine: TrafficEngine, applied: dict[str, Fault]) -> None:
        t0 = time.monotonic()
        last_fired = t0
        for step in schedule.steps:
            self._wait_trigger(step, t0, last_fired)
            last_fired = time.monotonic()
            if step.apply is not None:
                fault = make_fault(step.apply, self.stack)
                self.log(f"[{self.scenario.name}] step {step.id}: apply {fault.describe()}")
                if not fault.instant:
                    applied[step.id] = fault  # registered before apply: a half-applied fault is healed too
                fault.apply()
                self.stack.events.record("fault_applied", step=step.id, fault=fault.describe(), instant=fault.instant)
            elif step.heal is not None:
                fault = applied.pop(step.heal, None)
                if fault is not None:
                    self._heal(step.heal, fault)
            else:
                self._create_models(step, engine)

    def _heal(self, step_id: str, fault: Fault) -> None:
        self.log(f"[{self.scenario.name}] heal {fault.describe()}")
        fault.heal()
        self.stack.events.record("fault_healed", step=step_id, fault=fault.describe())

    def _wait_trigger(self, step: Step, t0: float, last_fired: float) -> None:
        if step.at is not None:
            time.sleep(max(0.0, t0 + step.at - time.monotonic()))
        elif step.on == "model_query_seen":
            read = self.stack.events.wait_for("model_table_read", step.within_s, after=last_fired, **step.match)
            if read is None:
                raise FaultError(f"step {step.id}: no read of {MODEL_TABLE} {step.match or ''} seen within {step.within_s:.0f} s")
            self.stack.events.record("model_query_seen", step=step.id, worker=read["worker"])
        elif step.on is not None:
            if self.stack.events.wait_for(step.on, step.within_s, after=last_fired, **step.match) is None:
                raise FaultError(f"step {step.id}: event {step.on} {step.match or ''} not seen within {step.within_s:.0f} s")
        time.sleep(step.delay_s)

    def _create_models(self, step: Step, engine: TrafficEngine) -> None:
        spec = step.create_models
        worker, count = spec.get("worker", "worker-1"), int(spec.get("count", 1))
        names = [f"{spec.get('prefix', step.id)}-{i}" for i in range(1, count + 1)]
        self.log(f"[{self.scenario.name}] step {step.id}: create {count} model(s) on {worker}")

        async def create_then_read(name):
            op = await engine.model_new(worker, name, self.stack.upstream_url)
            if op.cls == OK:
                engine.models.append(name)  # from now on probed on every worker
                await engine.model_info(worker, name)
            return op

        async def all_of():
            if spec.get("parallel", True):
                return await asyncio.gather(*(create_then_read(n) for n in names))
            return [await create_then_read(n) for n in names]

        ops = engine.call(all_of(), timeout=300)
        self.stack.events.record("management_returned", step=step.id, worker=worker, created=sum(o.cls == OK for o in ops), asked=count)

    def _db_models(self) -> list[str] | None:
        try:
            with psycopg.connect(self.stack.postgres.dsn(), connect_timeout=5) as conn:
                return [r[0] for r in conn.execute(f'SELECT model_name FROM "{MODEL_TABLE}"')]
        except psycopg.Error:
            return None


def check_schedule(schedule: Schedule, shape: StackShape) -> None:
    """Every worker, link and fault parameter a schedule names must exist on the stack."""
    unknown = schedule.workers_named() - set(shape.worker_names())
    if unknown:
        raise UsageError(f"schedule {schedule.name!r} names worker(s) {sorted(unknown)}; the stack has {', '.join(shape.worker_names())}")
    for step in schedule.steps:
        if step.apply is not None:
            make_fault(step.apply, shape)
        if step.create_models is not None:
            count = step.create_models.get("count", 1)
            if not isinstance(count, int) or count < 1:
                raise UsageError(f"step {step.id!r}: create_models count={count!r} must be a whole number >= 1")


def baseline_problem(ops, since: float, workers: dict, models) -> str | None:
    """Before any fault every pair must have succeeded and none may have answered invalid_model."""
    recent = [op for op in ops if op.f == "chat" and op.t0 >= since]
    bad = [op for op in recent if op.cls == INVALID_MODEL]
    if bad:
        return f"{bad[0].worker} answered invalid_model for {bad[0].model} before any fault"
    ok = {(op.worker, op.model) for op in recent if op.cls == OK}
    missing = [(w, m) for w in workers for m in models if (w, m) not in ok]
    if missing:
        w, m = missing[0]
        return f"no successful request for {m} on {w} in the baseline window ({len(missing)} pair(s) missing)"
    return None
