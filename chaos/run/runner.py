"""One run = stack + traffic + schedule + oracle -> evidence folder + verdict.

Phases: start the stack; traffic at every (worker, model) pair, every worker's listings and
through the front door; a baseline window (no fault: every pair must succeed, else the run is
"aborted: baseline not met"); the schedule's steps (chaos.run.interpreter); heal-all (always, in a
finally); a recovery window, from when every worker restarted late in the schedule listens; a
final probe round and DB read; the checkers, each invariant with its role in the scenario
(contract or advisory)."""

from __future__ import annotations

import functools
import json
import os
import secrets
import time
import traceback
from dataclasses import asdict, is_dataclass, replace
from pathlib import Path

import psycopg

from chaos.errors import ChaosError, SteadyStateDeviated, UsageError
from chaos.evidence import layout
from chaos.faults import FaultError
from chaos.host.machine import (
    HIGH_PRESSURE,
    LOW_PRESSURE,
    Calibration,
    LoadShedder,
    PressureMonitor,
    budget,
    calibration_key,
)
from chaos.oracle import coverage
from chaos.oracle.classify import INVALID_MODEL, OK, definite
from chaos.oracle.context import FAIL, CheckContext, InvariantResult, result
from chaos.oracle.invariants import check_all, decided_by
from chaos.oracle.latency import baseline_p99
from chaos.oracle.verdict import ABORTED, FAILED, NOT_APPLICABLE, PASS, Verdict, verdict_of
from chaos.run.events import Event
from chaos.run.history import History
from chaos.run.interpreter import Bounds, StepInterpreter
from chaos.run.plan import RunPlan
from chaos.run.progress import Progress
from chaos.scenarios.scenario import Scenario
from chaos.stack import BACKENDS, Stack, StackConfig
from chaos.stack.components.model_reads import MODEL_TABLE
from chaos.stack.pool import StackPool
from chaos.traffic import TrafficEngine

__all__ = ["Run", "Scenario", "baseline_problem", "steady_state_deviation"]


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
    """One run of a plan (chaos.run.plan.plan_run): the stack from the pool (or one of its own), the
    phases of execute(), the verdict and the evidence folder."""

    def __init__(self, plan: RunPlan, *, pool: StackPool | None = None, progress: Progress | None = None,
                 tail_s: float = 3.0):
        self.scenario = plan.scenario
        self.stack_config = plan.stack
        self.traffic_config = plan.traffic
        self.results = plan.results
        if plan.backend not in BACKENDS:
            raise UsageError(f"unknown backend {plan.backend!r}; expected one of: {', '.join(BACKENDS)}")
        self.backend = plan.backend
        self.keep_stack = plan.keep_stack  # a failing run leaves its stack up for a person to look at
        self.full_window = plan.full_window  # keep the whole recovery window instead of ending once decided
        self.max_blind_share = coverage.check_blind_share(plan.max_blind_share)
        self.progress = progress or Progress(plan.scenario.name)  # default: no progress line, log lines to stderr
        self.log = self.progress.log
        self.tail_s = tail_s  # probes kept after every contract invariant is decided
        self.pool = pool  # a warm stack shared with other runs (None: a stack of its own, torn down after)
        self.reuse: dict = {}  # how this run got its stack (fresh, or reused after a reset)
        self.touched: set[str] = set()  # the workers this run touched (restarted at the next reset)
        self.evidence: Path | None = None
        self.stack: Stack | None = None
        self.kept_stack = False
        self.verdict: Verdict | None = None
        self._cpu_at_start: list[float | None] = []
        self._throttled_at_start: dict[str, float] = {}  # seconds each worker was held back by --cpu-limit

    def execute(self) -> Verdict:
        self.evidence = evidence_dir(self.results, self.scenario.name)
        self.scenario.evidence_schedule(replay_fields(self.stack_config, self.scenario.stack),
                                        self.traffic_config.rate_per_worker).save(
            self.evidence / layout.SCHEDULE)
        self._write_user_config()
        missing = self.scenario.premise_missing(self.stack_config)
        if missing:
            return self._not_applicable(missing)
        config = replace(self.stack_config, evidence_dir=None, keep_logs="never")  # the run exports its own evidence
        pool = self.pool or StackPool(self.backend, log=self.log, fresh=True)
        verdict, marks, self.touched = None, {}, set()
        t_start = time.monotonic()
        with self.progress:
            try:
                self.log(f"[{self.scenario.name}] stack: LiteLLM {config.litellm_version}, {config.replicas} replicas")
                self.stack, self.reuse = pool.acquire(config)
                marks = self.stack.begin_run(self.evidence / layout.EVENTS, since=self.reuse.pop("since"))
                verdict = self._run_traffic_and_schedule()
            except SteadyStateDeviated as exc:  # the gateway's failure at stack start, with its evidence
                verdict = Verdict(status=FAILED, scenario=self.scenario.name,
                                  reason=f"steady state deviated at stack start, before any fault: {exc}")
                verdict.invariants = [InvariantResult("steady_state", "before any fault, every worker serves every seeded model",
                                                      FAIL, note=str(exc))]
            except BaselineNotMet as exc:
                verdict = Verdict(status=ABORTED, scenario=self.scenario.name, reason=str(exc))
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

    def _not_applicable(self, why: str) -> Verdict:
        """Nothing to run: the verdict says why (no stack is started)."""
        from chaos.litellm.env import prisma_engine_description

        c = self.stack_config
        self.verdict = Verdict(status=NOT_APPLICABLE, scenario=self.scenario.name, reason=why, evidence=str(self.evidence),
                               stack={"litellm_version": c.litellm_version, "backend": self.backend,
                                      "prisma_query_engine": prisma_engine_description()},
                               seed=self.scenario.schedule.seed, durations={"total_s": 0.0})
        (self.evidence / layout.VERDICT).write_text(json.dumps(self.verdict.to_json(), indent=2, default=str))
        return self.verdict

    def _write_user_config(self) -> None:
        """--litellm-config: what of the user's file the stack overrode, and the file with its secrets removed."""
        from chaos.litellm import user_config

        c = self.stack_config
        if c.litellm_config is None:
            return
        for line in c.user_overrides:
            self.log(f"[{self.scenario.name}] --litellm-config override: {line}")
        sanitized = user_config.sanitize(user_config._load_yaml(c.litellm_config, "--litellm-config"))
        (self.evidence / layout.CONFIG_OVERRIDES).write_text(json.dumps(
            {"source": str(c.litellm_config), "overrides": list(c.user_overrides), "config_without_secrets": sanitized}, indent=2))

    def _finish(self, verdict: Verdict | None, pool: StackPool, marks: dict, t_start: float) -> None:
        """Whatever happened: the verdict and the evidence written, the stack kept, handed back or torn down."""
        failed = verdict is None or verdict.status != PASS
        stack = self.stack or pool.stack
        if verdict is not None:
            verdict.stack = stack.describe() if stack else {}
            verdict.stack["reuse"] = self.reuse
            verdict.seed = self.scenario.schedule.seed
            verdict.evidence = str(self.evidence)
            verdict.traffic = asdict(self.traffic_config) | verdict.traffic
            verdict.durations["total_s"] = round(time.monotonic() - t_start, 2)
            text = json.dumps(verdict.to_json(), indent=2, default=str)
            (self.evidence / layout.VERDICT).write_text(stack.redact(text) if stack else text)
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
        from chaos.report.html import render_report

        try:
            render_report(self.evidence)
        except Exception as exc:  # noqa: BLE001 - reported in one line, the verdict stands
            self.log(f"[{self.scenario.name}] could not render the report: {type(exc).__name__}: {exc}")

    @functools.cached_property
    def verdict_block(self) -> str:
        """The console summary of the finished run, read back from its evidence folder."""
        from chaos.evidence.load import load_evidence
        from chaos.report.summary import verdict_block

        text = verdict_block(load_evidence(self.evidence))
        if self.kept_stack:
            text += "\n" + self.stack.inspection_hint()
        return text

    # --------------------------------------------------------------------------------
    def bounds(self) -> Bounds:
        """The recovery and propagation bounds, from the reload interval of the LiteLLM that runs."""
        return self.scenario.bounds.bounds(self.stack.reload_interval_s)

    def _run_traffic_and_schedule(self) -> Verdict:
        """The run's phases, in order: traffic and the pressure watch start; baseline (steady
        state); the schedule; heal-all; the recovery window; the final probe round; the checkers."""
        stack, schedule = self.stack, self.scenario.schedule
        bounds = self.bounds()
        history = History(self.evidence / layout.HISTORY)
        workers = {w.name: w.url for w in stack.workers()}
        front_door = stack.front_door.url if stack.front_door else None
        engine = TrafficEngine(workers, list(stack.config.models), stack.master_key, history, self.traffic_config,
                               front_door_url=front_door, reset_is_refused=stack.port_proxy_resets).start()
        plan = self._plan(engine, bounds)
        pressure = PressureMonitor(LoadShedder(engine, stack.events.record, plan.chat_floor)).start()
        self.progress.watch(lambda: engine.sent, lambda: history.invalid_model_by_worker)
        interpreter = StepInterpreter(stack, engine, bounds, self.log, self.scenario.name)
        try:
            self.progress.set_phase("baseline")
            baseline, deviated = self._baseline(history, engine, workers)
            if deviated is not None:
                return self._deviated(deviated, history, baseline, engine, pressure)
            self._calibrate(history, engine, baseline, pressure)
            heal_t = self._schedule_and_heal(interpreter, workers)
            recovery = max(schedule.recovery_s, bounds.recovery_s + 2)
            self.log(f"[{self.scenario.name}] healed; recovery window {recovery:.0f} s (bound {bounds.recovery_s:.0f} s)"
                     + ("" if self.full_window else f", ending once the contract is decided (+{self.tail_s:g} s)"))
            self.progress.set_phase("recovery")
            ended_by = self._recovery_window(history, heal_t, recovery, bounds, list(workers))
            end_t = time.monotonic()
            self.progress.set_phase("checking")
            final = self._final_round(engine, workers)
            db_models, db_error = self._db_models()
        finally:
            pressure.stop()
            engine.stop()
            history.close()
            self._record_blind_spots(engine, pressure)
        plan = self._plan(engine, bounds, plan.chat_floor)  # created models joined the round robin: sparser probing
        ctx = CheckContext(
            workers=list(workers), models=list(stack.config.models), events=stack.events.events(), heal_t=heal_t,
            end_t=end_t, recovery_bound_s=bounds.recovery_s, propagation_bound_s=bounds.propagation_s,
            final_db_models=db_models, final_db_error=db_error, readiness_max_age_s=max(2.0, 4 * self.traffic_config.readiness_interval_s),
            baseline=baseline, front_door=front_door is not None and self.traffic_config.front_door_rate > 0,
            config_models=list(stack.config.config_models), plan=plan, max_blind_share=self.max_blind_share,
            high_pressure=pressure.stretches_above(HIGH_PRESSURE), stall_reference_s=self._stall_reference(),
        )
        invariants = check_all(history.ops, ctx, list(self.scenario.contract), list(self.scenario.advisory))
        verdict = verdict_of(self.scenario.name, invariants, history.ops)
        verdict.traffic = self._traffic_summary(engine, plan, history, baseline[0], end_t)
        verdict.machine = self._machine_summary(engine, pressure, baseline[0], end_t)
        verdict.fault_reach = [{"fault": e["fault"], "observable": e["observable"], "tried_after_s": e["tried"]}
                               for e in stack.events.events(Event.DB_ATTEMPTS)]
        verdict.durations = {"recovery_window_s": round(end_t - heal_t, 2), "full_window_s": recovery, "ended_by": ended_by,
                             "bound_s": bounds.recovery_s, "baseline_s": round(baseline[1] - baseline[0], 2),
                             "propagation_bound_s": bounds.propagation_s, "requests": engine.sent,
                             "final_round_ok": sum(op.cls == OK for op in final),
                             # wall seconds in which some lane was not probed (the loop fell behind): a union, not a sum
                             "probe_stall_s": round(coverage.total([(a, b) for _, a, b in engine.stalls]), 2)}
        return verdict

    # ------------------------------------------------------------ phases
    def _baseline(self, history: History, engine: TrafficEngine, workers: dict) -> tuple[tuple[float, float], dict | None]:
        """Steady state before any fault: at least the schedule's baseline_s, then until every
        (worker, model) pair has succeeded once, bounded by a time from the pair count and the
        rate achieved (never a fixed window: 140 models x 3 workers take longer than 3). Returns
        the window and, where the gateway deviated (an invalid model, a worker listing fewer
        models than seeded), what it did; raises BaselineNotMet where the harness saw too little."""
        models, schedule = list(self.stack.config.models), self.scenario.schedule
        t_base = time.monotonic()
        self._cpu_at_start = [process_cpu_s(w.pid) for w in self.stack.workers()]
        self._throttled_at_start = self.stack.throttled_s()
        time.sleep(schedule.baseline_s)
        while True:
            now = time.monotonic()
            problem = baseline_problem(history.ops, t_base, workers, models)
            deviated = steady_state_deviation(history.ops, t_base, workers, models)
            limit = t_base + baseline_limit_s(schedule.baseline_s, len(models), achieved_rate(history.ops, t_base, now, len(workers)))
            if deviated or not problem or now >= limit:
                break
            time.sleep(0.5)
        baseline = (t_base, time.monotonic())
        if deviated:
            return baseline, deviated
        if problem:
            raise BaselineNotMet(f"baseline not met after {baseline[1] - t_base:.0f} s: {problem}")
        self.stack.events.record(Event.BASELINE_MET, window_s=round(baseline[1] - t_base, 2))
        self.log(f"[{self.scenario.name}] baseline met in {baseline[1] - t_base:.1f} s; running {len(schedule.steps)} step(s)")
        return baseline, None

    def _deviated(self, deviated: dict, history: History, baseline, engine: TrafficEngine, pressure) -> Verdict:
        """The gateway failed before any fault: a failed verdict with its evidence, not a harness error."""
        self.stack.events.record(Event.STEADY_STATE_DEVIATED, **{k: v for k, v in deviated.items() if k != "ops"})
        inv = steady_state_result(deviated, CheckContext(workers=list(engine.workers), models=list(self.stack.config.models),
                                                         events=self.stack.events.events(), heal_t=None, end_t=baseline[1],
                                                         recovery_bound_s=0, propagation_bound_s=0))
        verdict = verdict_of(self.scenario.name, [inv], history.ops)
        verdict.reason = f"steady state deviated before any fault: {deviated['why']}"
        verdict.machine = self._machine_summary(engine, pressure, baseline[0], baseline[1])
        return verdict

    def _schedule_and_heal(self, interpreter: StepInterpreter, workers: dict) -> float:
        """The schedule's steps, then heal-all (always); the recovery clock: heal-all done and every
        worker restarted late in the schedule listening."""
        self.progress.set_phase("faults")
        try:
            interpreter.run(self.scenario.schedule)
        finally:
            self.touched = interpreter.touched
            heal_errors = interpreter.heal_all()
            heal_t = time.monotonic()
            self.stack.events.record(Event.HEAL_ALL)
        if heal_errors:
            raise FaultError("; ".join(heal_errors))
        waited = interpreter.await_listening(list(workers))
        if waited:  # the recovery clock starts once a worker restarted late in the schedule listens
            self.log(f"[{self.scenario.name}] healed; waited for restarted workers to listen: {'; '.join(waited)}")
            heal_t = time.monotonic()
        return heal_t

    def _final_round(self, engine: TrafficEngine, workers: dict) -> list:
        """One chat per (worker, model), asked again (up to FINAL_TRIES, each within the probe
        timeout) where the answer was a timeout or a reset: no_model_lost needs a definite answer."""
        engine.pause_probes()
        time.sleep(0.2)
        pairs = [(w, m) for w in workers for m in self.stack.config.models]
        answers = []
        for _ in range(FINAL_TRIES):
            ops = [engine.call(engine.chat(w, m)) for w, m in pairs]
            answers += ops
            pairs = [(op.worker, op.model) for op in ops if not definite(op)]
            if not pairs:
                break
        return answers

    def _record_blind_spots(self, engine: TrafficEngine, pressure: PressureMonitor) -> None:
        """Probe stalls as events, one per stretch (lanes merged), and the pressure samples."""
        for since, until in coverage.merge([(a, b) for _, a, b in engine.stalls]):
            lanes = sorted({w for w, a, b in engine.stalls if a < until and b > since})
            self.stack.events.record(Event.PROBE_STALL, t=since, seconds=round(until - since, 3), lanes=lanes,
                                     worker=lanes[0] if len(lanes) == 1 else None)
        (self.evidence / layout.PRESSURE).write_text(json.dumps({"source": pressure.source, "samples": pressure.samples}))

    def _plan(self, engine: TrafficEngine, bounds: Bounds, chat_floor: float | None = None) -> coverage.Plan:
        """The probe intervals for the models the engine probes now (seeded, and created so far), and
        the shedding floor (computed once, at the start, for the shedder; the same floor after)."""
        c, models = self.traffic_config, len(engine.models)
        listing = max(c.listing_rate_per_worker, c.model_info_rate_per_worker)
        pair_s = models / engine.direct_rate
        return coverage.Plan(chat_pair_s=pair_s, listing_s=1 / listing if listing else None,
                             front_door_pair_s=models / c.front_door_rate if engine.front_door_url and c.front_door_rate else None,
                             chat_floor=chat_floor or coverage.chat_floor(pair_s, bounds.recovery_s))

    def _calibration_key(self) -> str | None:
        version = self.stack.describe().get("litellm_version")
        return calibration_key(version, len(self.stack.config.models)) if version else None

    def _stall_reference(self) -> float | None:
        """no_stall's reference: the chat p99 calibrated for this version on an unloaded machine (None: the floor alone)."""
        key = self._calibration_key()
        return Calibration.load().unloaded_p99_s(key) if key else None

    def _calibrate(self, history: History, engine: TrafficEngine, baseline, pressure: PressureMonitor) -> None:
        """The workers' CPU per chat over the baseline calibrates the load budget; where the baseline
        saw little pressure, its chat p99 is no_stall's unloaded reference; cached for this version."""
        key = self._calibration_key()
        if key is None:
            return
        seen = pressure.summary(*baseline)
        unloaded = bool(seen.get("samples")) and seen["avg_pct"] < LOW_PRESSURE and seen["max_pct"] < HIGH_PRESSURE
        # a worker held to a CPU limit answers slower: its p99 is no unloaded reference
        p99 = baseline_p99(history.ops, baseline) if unloaded and not self.stack.config.cpu_limit else None
        cpu_ms = self._cpu_ms_per_chat(history, baseline)
        if p99 is not None or cpu_ms is not None:
            Calibration.load().record(key, unloaded_p99_s=p99, litellm_ms=cpu_ms)

    def _cpu_ms_per_chat(self, history: History, baseline) -> float | None:
        """LiteLLM CPU per chat over the baseline, read from the workers' /proc (local backend)."""
        cpu = [process_cpu_s(w.pid) for w in self.stack.workers()]
        if None in cpu or not self._cpu_at_start:
            return None
        chats = sum(1 for op in history.ops if op.f == "chat" and baseline[0] <= op.t0 <= baseline[1] and op.cls == OK)
        used = sum(cpu) - sum(self._cpu_at_start)
        return used * 1000 / chats if chats >= MIN_CALIBRATION_CHATS and used > 0 else None

    def _traffic_summary(self, engine: TrafficEngine, plan: coverage.Plan, history: History, since: float, until: float) -> dict:
        return {"rate_source": self.traffic_config.rate_source, "direct_chat_rate_per_worker": round(engine.direct_rate, 2),
                "smallest_window_caught_s": plan.catch_window_s(),
                "per_pair_interval_s": {"planned": round(plan.chat_pair_s, 3)} | pair_intervals(history.ops, since, until)}

    def _machine_summary(self, engine: TrafficEngine, pressure: PressureMonitor, since: float, until: float) -> dict:
        b = budget(len(engine.workers), len(self.stack.config.models), self.stack.describe().get("litellm_version"),
                   cpu_limit=self.stack.config.cpu_limit)
        sent = sum(1 for op in engine.history.ops if op.f == "chat" and op.via is None and since <= op.t0 <= until)
        sheds = self.stack.events.events(Event.LOAD_SHED)
        return {"cores": os.cpu_count(), "pressure": pressure.summary(since, until), "budget": b.to_json(),
                "rates": {"planned_chats_per_worker": self.traffic_config.rate_per_worker,
                          "achieved_direct_chats_per_worker": round(sent / max(until - since, 1e-9) / max(len(engine.workers), 1), 2),
                          "load_shed_changes": len(sheds),
                          "lowest_chat_scale": min((e["chat_scale"] for e in sheds), default=1.0)},
                "cpu_limit_per_worker": self.stack.describe().get("cpu_limit_per_worker"),
                "cpu_throttled_s": {w: round(s - self._throttled_at_start.get(w, 0.0), 2)
                                    for w, s in self.stack.throttled_s().items()}}

    def _recovery_window(self, history: History, heal_t: float, window_s: float, bounds: Bounds, workers: list[str]) -> str:
        """Probe until every contract invariant is decided (+ the tail), or the whole window
        with --full-window; returns why the run ended (also an event)."""
        full_end = heal_t + window_s
        if self.full_window:
            time.sleep(window_s)
            self.stack.events.record(Event.RUN_DECIDED, by="full window", after_heal_s=round(window_s, 2))
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
                self.stack.events.record(Event.RUN_DECIDED, by=name, why=why, after_heal_s=round(now - heal_t, 2))
                return reason
            time.sleep(min(1.0, max(0.05, min(t, full_end) + self.tail_s - now)))

    def _db_models(self) -> tuple[list[str] | None, str | None]:
        """(model names in the DB, None), or (None, why the read failed)."""
        try:
            with psycopg.connect(self.stack.postgres.dsn(), connect_timeout=5) as conn:
                return [r[0] for r in conn.execute(f'SELECT model_name FROM "{MODEL_TABLE}"')], None
        except psycopg.Error as exc:
            return None, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


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


FINAL_TRIES = 3  # the final round asks a pair again at most this often while it only times out
MIN_CALIBRATION_CHATS = 50
BASELINE_MAX_S = 300.0


class BaselineNotMet(ChaosError):
    """The harness could not see every pair succeed before any fault (nothing the gateway said
    was wrong: too slow a machine, or too many pairs for the rate); the run is aborted."""

    exit_code = 4


# the stack settings a replay needs to bring up the same stack (schedule.json's `stack`)
REPLAYED = ("replicas", "litellm_version", "models", "seed_via", "allow_requests_on_db_unavailable",
            "store_model_in_db_source", "general_settings", "worker_env", "reload_interval_s", "front_door", "fast_start")


def replay_fields(config: StackConfig, scenario_keys=()) -> dict:
    """What of a StackConfig goes into schedule.json, as plain data (StackConfig.from_fields reads
    it back): REPLAYED and whatever else the scenario set."""
    fields = {}
    for name in dict.fromkeys((*REPLAYED, *scenario_keys)):
        value = getattr(config, name)
        fields[name] = asdict(value) if is_dataclass(value) else list(value) if isinstance(value, tuple) else value
    if config.litellm_venv:
        fields["litellm_venv"] = str(config.litellm_venv)
    return fields


def achieved_rate(ops, since: float, until: float, workers: int) -> float:
    """Direct chats invoked per second per worker in [since, until]."""
    n = sum(1 for op in ops if op.f == "chat" and op.via is None and op.t0 >= since)
    return n / max(until - since, 1e-9) / max(workers, 1)


def baseline_limit_s(baseline_s: float, models: int, rate: float) -> float:
    """How long the baseline may take to see every pair succeed once: three rounds over the models
    at the rate achieved, plus 10 s, at least the schedule's baseline, at most BASELINE_MAX_S."""
    rounds = 3 * models / rate if rate > 0 else BASELINE_MAX_S
    return min(BASELINE_MAX_S, max(baseline_s, rounds + 10.0))


def baseline_problem(ops, since: float, workers: dict, models) -> str | None:
    """Before any fault every pair must have succeeded."""
    ok = {(op.worker, op.model) for op in ops if op.f == "chat" and op.via is None and op.t0 >= since and op.cls == OK}
    missing = [(w, m) for w in workers for m in models if (w, m) not in ok]
    if missing:
        w, m = missing[0]
        return f"no successful request for {m} on {w} ({len(missing)} pair(s) missing)"
    return None


def steady_state_deviation(ops, since: float, workers: dict, models) -> dict | None:
    """The gateway's own failure before any fault: a valid model answered 'Invalid model name', or
    a worker whose latest listing lacks seeded models. None when the steady state holds."""
    recent = [op for op in ops if op.via is None and op.t0 >= since]
    bad = [op for op in recent if op.f == "chat" and op.cls == INVALID_MODEL and op.model in models]
    if bad:
        return {"why": f"{bad[0].worker} answered 'Invalid model name' for the valid model {bad[0].model}",
                "worker": bad[0].worker, "model": bad[0].model, "ops": bad}
    latest: dict[tuple, object] = {}
    for op in sorted((o for o in recent if o.f in ("models", "model_info_list") and o.cls == OK
                      and isinstance(o.value, list)), key=lambda o: o.t0):
        latest[(op.worker, op.f)] = op
    for (worker, f), op in sorted(latest.items()):
        missing = sorted(set(models) - set(op.value))
        if missing:
            return {"why": f"{worker} lists {len(op.value)} models ({f}), {len(missing)} seeded one(s) missing: "
                           f"{', '.join(missing[:5])}", "worker": worker, "model": missing[0],
                    "ops": [replace(op, model=m, cls="not_listed") for m in missing]}
    return None


def steady_state_result(deviated: dict, ctx: CheckContext) -> InvariantResult:
    return result("steady_state", "before any fault, every worker serves and lists every seeded model",
                  deviated.get("ops") or [], ctx, note=deviated["why"])


def process_cpu_s(pid: int | None) -> float | None:
    """user + system CPU seconds of a local process, None where /proc does not have it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, TypeError):
        return None
