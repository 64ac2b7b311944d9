"""The step interpreter: runs a schedule's steps against a stack, on the same timeline as the
traffic (Jepsen's nemesis and management client in one).

For each step: wait for its trigger (a time offset, an event, or an event-or-fallback, see
chaos.scenarios.schedule), then do its action (apply or heal a fault, create / delete / update models
through the management API), then `settle`. Every fault applied is registered before its apply,
so a half-applied fault is healed too; heal_all() heals what is left, each heal on its own (one
that raises does not stop the others). Everything it does is an event in the run's log."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from chaos.faults import Fault, FaultError, make_fault
from chaos.litellm.models import default_specs
from chaos.oracle.classify import OK
from chaos.run.events import Event
from chaos.scenarios.schedule import EACH_SIDE, EVENT_KIND, PREVIOUS_STEP, Schedule, Step
from chaos.stack.components.seed import db_rows, delete_rows, encrypted_params, update_rows, write_rows
from chaos.traffic.engine import FRONT_DOOR, TrafficEngine

# a front-door read-back is repeated this often until the propagation bound (read_until_bound)
READ_BACK_INTERVAL_S = 1.0
DB_SIDE = "db"  # a model change written straight into the DB
# after heal-all, a worker the schedule (re)started is given this long from its spawn to listen before
# the recovery clock starts without it (a worker that never listens then fails recovery)
LISTEN_ALLOWANCE_S = 90.0


@dataclass(frozen=True)
class Bounds:
    """The run's bounds, which depend on the LiteLLM version's reload interval."""

    recovery_s: float
    propagation_s: float

    def settle_s(self, settle) -> float:
        if settle == "recovery_bound":
            return self.recovery_s + 1
        if settle == "propagation_bound":
            return self.propagation_s + 1
        return float(settle or 0)


def touched_by(fault: dict, workers: list[str]) -> set[str]:
    """The workers a fault may leave in another state: its worker, the worker of its link, or all
    of them (a fault on the shared DB path, or the whole fleet)."""
    for key in ("worker", "link"):
        if fault.get(key) in workers:
            return {fault[key]}
    return set(workers)


class StepInterpreter:
    def __init__(self, stack, engine: TrafficEngine, bounds: Bounds, log, name: str):
        self.stack = stack
        self.events = stack.events
        self.engine = engine
        self.bounds = bounds
        self.log = log
        self.name = name
        self.applied: dict[str, Fault] = {}
        self.touched: set[str] = set()  # workers whose state the schedule may have changed (a reset restarts them)
        self.created: dict[str, list[str]] = {}  # step id -> the models it created (for "created:STEP")

    # ------------------------------------------------------------------ the schedule
    def run(self, schedule: Schedule) -> None:
        t0 = time.monotonic()
        last_fired = t0
        for step in schedule.steps:
            self._wait_trigger(step, t0, last_fired)
            last_fired = time.monotonic()
            getattr(self, f"_do_{step.action()}")(step)
            settle = self.bounds.settle_s(step.settle)
            if settle:
                time.sleep(settle)

    def heal_all(self) -> list[str]:
        """Heal every fault still applied, newest first; returns the errors of heals that raised."""
        errors = []
        for step_id, fault in reversed(list(self.applied.items())):
            try:
                self._heal(step_id, fault)
            except Exception as exc:  # noqa: BLE001 - every other heal must still run
                errors.append(f"heal {step_id} ({fault.describe()}): {type(exc).__name__}: {exc}")
                self.events.record(Event.FAULT_HEAL_FAILED, step=step_id, fault=fault.describe(), error=str(exc)[:300])
        self.applied.clear()
        return errors

    def await_listening(self, workers: list[str]) -> list[str]:
        """After heal-all: a worker spawned late in the schedule cannot answer before its process
        listens, which says nothing about the DB. Wait until each one's latest spawn is live
        (worker_live, bug-independent), at most LISTEN_ALLOWANCE_S from that spawn; return what
        was waited for, e.g. ["worker-2: live after 31.2 s"]."""
        said = []
        for name in workers:
            spawned = self.events.events(Event.WORKER_SPAWNED, worker=name)
            if not spawned or self.events.first(Event.WORKER_LIVE, after=spawned[-1]["t"], worker=name):
                continue
            began = time.monotonic()
            deadline = spawned[-1]["t"] + LISTEN_ALLOWANCE_S
            live = self.events.wait_for(Event.WORKER_LIVE, max(0.0, deadline - began), after=spawned[-1]["t"], worker=name)
            said.append(f"{name}: live after {time.monotonic() - began:.1f} s" if live
                        else f"{name}: not live {LISTEN_ALLOWANCE_S:g} s after its spawn")
        if said:
            self.events.record(Event.RECOVERY_CLOCK_WAITED, workers=said)
        return said

    # ------------------------------------------------------------------ triggers
    def _wait_trigger(self, step: Step, t0: float, last_fired: float) -> None:
        if step.on is None:  # at an offset from the start, or right after the previous step; then delay_s
            time.sleep(max(0.0, t0 + step.at - time.monotonic()) if step.at is not None else 0.0)
            time.sleep(step.delay_s)
            return
        kind = EVENT_KIND.get(step.on, step.on)
        deadline = last_fired + step.within_s

        def due():
            """(fire time, by, the event it came from) once one of the ways to fire is known."""
            seen = self.events.first(kind, after=last_fired, **step.match)
            options = [] if seen is None else [(seen["t"] + step.delay_s, "event", seen)]
            if step.fallback is not None:
                anchor = ({"t": last_fired, "kind": PREVIOUS_STEP} if step.fallback.event == PREVIOUS_STEP
                          else self.events.first(step.fallback.event, after=last_fired, **step.fallback.match))
                if anchor is not None:
                    options.append((anchor["t"] + step.fallback.after_s, "fallback", anchor))
                options.append((deadline, "deadline", None))
            return min(options, key=lambda o: o[0]) if options else None

        def fire():
            option = due()
            return option if option is not None and time.monotonic() >= option[0] else None

        # polled on every event and every 50 ms; an event seen just before the deadline still gets its delay
        found = self.events.wait(fire, max(0.0, deadline - time.monotonic()) + step.delay_s)
        if found is None:
            raise FaultError(f"step {step.id}: event {step.on} {step.match or ''} not seen within {step.within_s:.0f} s")
        _, by, source = found
        fired = {"step": step.id, "on": step.on, "by": by}
        if source is not None:
            fired |= {"source": source["kind"], "source_t": source["t"]}
        if by != "event" and step.fallback is not None:
            fired["fallback"] = step.fallback.to_json()
        self.events.record(Event.STEP_FIRED, **fired)
        if kind == Event.MODEL_TABLE_READ and by == "event":
            self.events.record(Event.MODEL_QUERY_SEEN, step=step.id, worker=source.get("worker"))
        if by != "event":
            self.log(f"[{self.name}] step {step.id}: {step.on} not seen; fired by its {by}")

    # ------------------------------------------------------------------ faults
    def _do_apply(self, step: Step) -> None:
        fault = make_fault(step.apply, self.stack)
        self.touched |= touched_by(step.apply, self.stack.worker_names())
        self.log(f"[{self.name}] step {step.id}: apply {fault.describe()}")
        if not fault.instant:
            self.applied[step.id] = fault  # registered before apply: a half-applied fault is healed too
        since = time.monotonic()
        fault.apply()
        self.events.record(Event.FAULT_APPLIED, step=step.id, fault=fault.describe(), instant=fault.instant, since=since)

    def _do_heal(self, step: Step) -> None:
        fault = self.applied.pop(step.heal, None)
        if fault is not None:
            self._heal(step.heal, fault)

    def _heal(self, step_id: str, fault: Fault) -> None:
        self.log(f"[{self.name}] heal {fault.describe()}")
        fault.heal()
        self.events.record(Event.FAULT_HEALED, step=step_id, fault=fault.describe())

    # ------------------------------------------------------------------ management workload
    def _names(self, models: list[str]) -> list[str]:
        """Model names, with "seed:N" for the stack's N-th model (a scenario that works on any model
        list) and "created:STEP" for every model that step created."""
        seeded, names = list(self.stack.config.models), []
        for m in models:
            if m.startswith("seed:"):
                names.append(seeded[int(m.split(":", 1)[1]) % len(seeded)])
            elif m.startswith("created:"):
                names += self.created.get(m.split(":", 1)[1], [])
            else:
                names.append(m)
        return names

    def _sides(self, spec: dict) -> list[str]:
        """Where the change comes from: one worker, the front door, the DB, or each of them in turn."""
        self.touched |= set(self.stack.worker_names())  # every router learns (or should learn) the change
        if spec.get("worker") == EACH_SIDE:
            return [*self.stack.worker_names(), *([FRONT_DOOR] if self.stack.front_door else []), DB_SIDE]
        via = spec.get("via")
        return [FRONT_DOOR if via == "front_door" else DB_SIDE if via == "db" else spec.get("worker", "worker-1")]

    def _do_create_models(self, step: Step) -> None:
        spec = step.create_models
        sides, count = self._sides(spec), int(spec.get("count", 1))
        prefix = spec.get("prefix", step.id)
        # one model per side when every side creates (named after it), else `count` on the one side
        plan = ([(side, f"{prefix}-{side}") for side in sides] if spec.get("worker") == EACH_SIDE
                else [(sides[0], f"{prefix}-{i}") for i in range(1, count + 1)])
        read_until = self.bounds.propagation_s if spec.get("read_until_bound") else 0.0
        self.log(f"[{self.name}] step {step.id}: create {len(plan)} model(s) on {', '.join(dict.fromkeys(s for s, _ in plan))}")
        engine = self.engine

        async def create_then_read(side, name):
            if side == DB_SIDE:
                spec_ = default_specs([name])[0]
                row = db_rows([spec_], self.stack.upstream_url, self.stack.salt_key)
                op = await engine.via_db("model_new", name, lambda: write_rows(self.stack.postgres.dsn(), row))
                if op.cls == OK:
                    engine.add_model(name)
                return op
            op = await engine.model_new(side, name, self.stack.upstream_url)
            if op.cls != OK:
                return op
            engine.add_model(name)  # from now on probed everywhere
            await engine.model_info(side, name)
            stop = op.t + read_until
            while time.monotonic() + READ_BACK_INTERVAL_S <= stop:  # the client reads again until the bound
                await asyncio.sleep(READ_BACK_INTERVAL_S)
                await engine.model_info(side, name)
            return op

        async def all_of():
            if spec.get("parallel", True) and spec.get("worker") != EACH_SIDE:
                return await asyncio.gather(*(create_then_read(side, n) for side, n in plan))
            return [await create_then_read(side, n) for side, n in plan]  # every side in turn

        ops = engine.call(all_of(), timeout=300 + read_until)
        self.created[step.id] = [name for (_, name), op in zip(plan, ops) if op.cls == OK]
        self.events.record(Event.MANAGEMENT_RETURNED, step=step.id, action="create", worker=",".join(dict.fromkeys(s for s, _ in plan)),
                           created=sum(o.cls == OK for o in ops), asked=len(plan))

    def _do_delete_models(self, step: Step) -> None:
        self._change(step, step.delete_models, "delete")

    def _do_update_models(self, step: Step) -> None:
        self._change(step, step.update_models, "update")

    def _change(self, step: Step, spec: dict, action: str) -> None:
        """Delete or update named models, model i through side (i + start) of the step's sides:
        through the API (each model's id looked up on that side first, as a client would), or
        straight in the DB. One after the other when every side takes part (their order matters)."""
        sides, engine, names = self._sides(spec), self.engine, self._names(spec["models"])
        plan = [(sides[(i + spec.get("start", 0)) % len(sides)], name) for i, name in enumerate(names)]
        self.log(f"[{self.name}] step {step.id}: {action} " + ", ".join(f"{n} on {side}" for side, n in plan))

        async def one(i, side, name):
            route = spec.get("route", "") + (str(i) if spec.get("worker") == EACH_SIDE else "")  # each update a new route
            if side == DB_SIDE:
                dsn = self.stack.postgres.dsn()
                if action == "delete":
                    return await engine.via_db("model_delete", name, lambda: delete_rows(dsn, name))
                params = encrypted_params(self.stack.config.spec_of(name), self.stack.upstream_url, self.stack.salt_key, route)
                return await engine.via_db("model_update", name, lambda: update_rows(dsn, name, params), value=route)
            model_id = await engine.model_id(side, name)
            if model_id is None:
                return None
            if action == "delete":
                return await engine.model_delete(side, name, model_id)
            return await engine.model_update(side, name, model_id, self.stack.upstream_url, route,
                                             spec=self.stack.config.spec_of(name))

        async def all_of():
            if spec.get("worker") == EACH_SIDE:
                return [await one(i, side, n) for i, (side, n) in enumerate(plan)]
            return await asyncio.gather(*(one(i, side, n) for i, (side, n) in enumerate(plan)))

        ops = engine.call(all_of(), timeout=120 * len(plan))
        done = sum(o is not None and o.cls == OK for o in ops)
        self.events.record(Event.MANAGEMENT_RETURNED, step=step.id, action=action, worker=",".join(dict.fromkeys(s for s, _ in plan)),
                           changed=done, asked=len(names))
        if done < len(names):
            self.log(f"[{self.name}] step {step.id}: only {done} of {len(names)} {action}(s) returned 200")
