"""`chaos report DIR --issue`: a failing run as a bug report to paste into LiteLLM's issue
template, written for a maintainer who has never heard of this suite: what happened (the first
violation in words), what was expected (the scenario's contract), versions, the proxy config
(secrets removed), the steps as the schedule in words plus the exact replay command, the
timeline as a PNG next to the Markdown, a log excerpt around the first violation, the counts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..errors import UsageError
from .evidence import Evidence, load_evidence
from .logwindow import log_window
from .summary import class_totals, first_violation, replay_command

# how a step's fault reads in a report
_FAULTS = {
    "link_down": "cut {link}'s database connection (Toxiproxy: the link stops listening and drops its connections)",
    "link_flap": "make {link}'s database connection flap (down {duty:.0%} of every {period_s} s, jitter {jitter_s} s)",
    "toxic": "degrade {link}'s database connection (Toxiproxy toxic {type} {attributes})",
    "haproxy_server": "put PostgreSQL in HAProxy's backend into {state}",
    "haproxy_stop": "stop HAProxy (the database proxy)",
    "pg_stop": "stop PostgreSQL",
    "pg_pause": "freeze PostgreSQL (SIGSTOP: connections hang)",
    "pg_terminate_backends": "terminate every PostgreSQL connection of the LiteLLM database",
    "pg_lock_table": "lock the table {table} (ACCESS EXCLUSIVE: every query on it hangs)",
    "worker_restart": "restart {worker} ({mode}: {how})",
    "worker_kill": "kill {worker} (SIGKILL; restarted after a backoff, as Kubernetes would)",
    "worker_stop": "stop {worker}",
    "worker_pause": "freeze {worker} (SIGSTOP)",
    "rolling_restart": "restart every replica in turn (the next when the last is ready, or {after_live_s} s after it listens)",
}
_LINKS = {"postgres": "HAProxy's (to PostgreSQL)", "workers": "every replica"}


def _link(name: str) -> str:
    return _LINKS.get(name, f"{name}'s" if name.startswith("worker-") else name)


def fault_in_words(spec: dict) -> str:
    fields = {"link": "postgres", "duty": 0.5, "period_s": 2, "jitter_s": 0, "type": "", "attributes": {}, "state": "maint",
              "table": "LiteLLM_ProxyModelTable", "worker": "worker-1", "mode": "graceful", "after_live_s": 20} | spec
    fields["how"] = "SIGKILL, then started again" if fields["mode"] == "crash" else "SIGTERM with a 10 s grace, then started again"
    text = _FAULTS.get(spec.get("kind"), spec.get("kind", "?")).format(**fields)
    return text.replace(f"{fields['link']}'s database", f"{_link(fields['link'])} database") if "{link}" in _FAULTS.get(spec.get("kind"), "") else text


def step_in_words(step: dict) -> str:
    when = ""
    if step.get("at") is not None:
        when = f"at {step['at']} s: "
    elif step.get("on"):
        match = ", ".join(f"{k}={v}" for k, v in (step.get("match") or {}).items())
        delay = f" + {step['delay_s']} s" if step.get("delay_s") else ""
        when = f"on {step['on']}" + (f" ({match})" if match else "") + delay
        fb = step.get("fallback")
        if fb:
            when += f", or {fb['after_s']} s after {fb['from']} if that comes first"
        when += ": "
    elif step.get("delay_s"):
        when = f"{step['delay_s']} s later: "
    if step.get("apply"):
        what = fault_in_words(step["apply"])
    elif step.get("heal"):
        what = f"undo step '{step['heal']}'"
    elif step.get("create_models"):
        c = step["create_models"]
        where = "through the load balancer" if c.get("via") == "front_door" else f"on {c.get('worker', 'worker-1')}"
        what = f"create {c.get('count', 1)} model(s) with POST /model/new {where}" + (" in parallel" if c.get("parallel", True) else "")
        what += ", reading each back with GET /model/info" + (" until the bound" if c.get("read_until_bound") else "")
    else:
        change = step.get("delete_models") or step.get("update_models")
        verb = "delete" if step.get("delete_models") else f"update (new api_base, route {change.get('route')})"
        where = "through the load balancer" if change.get("via") == "front_door" else f"on {change.get('worker', 'worker-1')}"
        what = f"{verb} {', '.join(change['models'])} {where}"
    return when + what


def _violation_in_words(ev: Evidence) -> str:
    fv = first_violation(ev)
    inv = next((i for i in ev.verdict.get("invariants", []) if i["name"] == fv.invariant), {})
    v = next((x for x in inv.get("violations", []) if x.get("worker") == fv.worker and x.get("model") == fv.model), {})
    seconds = (v.get("last", {}).get("t", fv.t) - v.get("first", {}).get("t", fv.t)) if v else 0
    detail = (v.get("first") or {}).get("detail") or ""
    said = f" (body: {detail[:160].strip().replace('`', chr(39))!r})" if detail else ""
    via = " through the load balancer (a Kubernetes-style Service in front of the replicas)" if fv.via else ""
    status = f"HTTP {fv.status}" if fv.status else "no answer"
    return (f"{fv.worker}{via} answered {status} (`{fv.cls}`){said} for model `{fv.model}`, "
            f"{fv.after_fault or 'before any fault'}; {fv.count} such answer(s) over {seconds:.1f} s on that model alone. "
            f"It broke: **{inv.get('description', fv.invariant)}**.")


def _config(ev: Evidence) -> str:
    overrides = ev.path / "config-overrides.json"
    if overrides.is_file():
        data = json.loads(overrides.read_text())
        return ("The proxy config (the reporter's own, secrets removed; the test stack overrode: "
                + "; ".join(data.get("overrides", [])) + "):\n\n```json\n" + json.dumps(data.get("config_without_secrets"), indent=2)
                + "\n```")
    what = ev.what_ran
    stack = (ev.schedule or {}).get("stack") or {}
    in_db_only = stack.get("store_model_in_db_source") == "db"  # as litellm_worker.litellm_config writes it
    general = {"master_key": "os.environ/LITELLM_MASTER_KEY"} | ({} if in_db_only else {"store_model_in_db": True})
    general["allow_requests_on_db_unavailable"] = what.get("allow_requests_on_db_unavailable")
    env = [] if in_db_only else ["`STORE_MODEL_IN_DB=True`"]
    env += ["`DISABLE_SCHEMA_UPDATE=true` (migrations applied beforehand)",
            f"`PROXY_CONFIG_RELOAD_INTERVAL_SECONDS={int(what.get('reload_interval_s') or 30)}`"]
    env += [f"`{k}={v}`" for k, v in sorted((stack.get("worker_env") or {}).items())]
    db_only = ("\n\n`store_model_in_db` is set neither in the config nor in the environment: only in the DB, as "
               "`general_settings` in `LiteLLM_Config` (`{\"store_model_in_db\": true}`), as the admin UI "
               "stores it.") if in_db_only else ""
    return ("The proxy config:\n\n```yaml\ngeneral_settings:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in general.items())
            + "litellm_settings:\n  telemetry: false\nmodel_list: []   # every model is in the DB (LiteLLM_ProxyModelTable)\n```\n\n"
            f"Environment: {', '.join(env)}, `DATABASE_URL` through HAProxy to PostgreSQL 15; each model points at an "
            f"OpenAI-compatible upstream.{db_only}")


def issue_markdown(ev: Evidence, png_name: str) -> str:
    what, schedule = ev.what_ran, ev.schedule or {}
    env = what.get("litellm_env") or {}
    fv = first_violation(ev)
    contract = [i for i in ev.verdict.get("invariants", []) if i.get("role", "contract") == "contract"]
    failed = [i for i in contract if i["status"] == "fail"]
    title = f"[Bug]: {fv.worker} answers {fv.cls.replace('_', ' ')} ({'HTTP ' + str(fv.status) if fv.status else 'no answer'}) " \
            f"for valid models in scenario {ev.scenario} (LiteLLM {what.get('litellm_version')})"
    replicas = (schedule.get("stack") or {}).get("replicas", "?")
    steps = "\n".join(f"{n}. {step_in_words(s)}" for n, s in enumerate(schedule.get("steps", []), 1))
    window = log_window(ev.log_path(fv.worker), ev.wall_of(fv.t), f"model={fv.model}" if fv.model else None, context=8)
    excerpt = "\n".join(line for _, line, _ in window.numbered()) if window else "(no log of that worker in the evidence)"
    totals = class_totals(ev)
    counts = "\n".join(f"| {w} | {sum(c.get(k, 0) for c in models.values() for k in totals)} | "
                       + " | ".join(str(sum(c.get(k, 0) for c in models.values())) for k in totals) + " |"
                       for w, models in ev.verdict.get("counts", {}).items())
    return f"""# {title}

### What happened?

{_violation_in_words(ev)}

Every invariant the scenario's contract holds a correct gateway to, and what this run found:

| expectation | result | offending answers |
|---|---|---|
""" + "".join(f"| {i['description']} | {'**FAILED**' if i['status'] == 'fail' else i['status']} | "
              f"{sum(v.get('count', 0) for v in i.get('violations', []))} |\n" for i in contract) + f"""
### What did you expect to happen?

What the reporter of [#26237](https://github.com/BerriAI/litellm/issues/26237) expected: a replica "should not serve
traffic until router/model state is successfully loaded at least once, or should keep retrying and recover
automatically". Here that means: {'; '.join(i['description'] for i in failed) or 'see the table'}.

### Relevant versions

- LiteLLM {what.get('litellm_version')}{f" ({what['litellm_variant']})" if what.get('litellm_variant') else ''}, litellm-proxy-extras {env.get('proxy_extras_version', '?')}, prisma (prisma-client-py) {env.get('prisma_client_version', '?')}
- Prisma query engine: {what.get('prisma_query_engine')} (connection-failure details can differ between engines)
- {replicas} proxy replicas, each its own process with `--num_workers 1`, PostgreSQL 15 behind HAProxy 2.6, Toxiproxy on every database link ({what.get('backend')} backend of litellm-chaos)

### Configuration

{_config(ev)}

### Steps to reproduce

With every replica up and serving every model (a baseline of {schedule.get('baseline_s', 3)} s checked that), while
clients send chat completions to every replica and through a load balancer that routes only to replicas whose
`/health/readiness` answers 200 (Kubernetes' probe settings):

{steps}

then every fault undone, and the replicas watched for {ev.verdict.get('durations', {}).get('recovery_window_s', '?')} s.

The exact run, replayable with litellm-chaos (the fault-injection suite that found this) from its evidence folder:

```
{replay_command(ev)}
```

### Timeline

![timeline]({png_name})

One lane per replica (a row per kind of answer; readiness underneath), the faults on top; red marks are the
answers that broke an expectation.

### Relevant log output

{fv.worker}'s log around the first offending answer:

```
{excerpt}
```

### Counts (chat completions per replica and outcome)

| replica | all | {' | '.join(totals)} |
|---|---|{'---|' * len(totals)}
{counts}
"""


def write_issue(path: Path, out: Path | None = None) -> Path:
    ev = load_evidence(path)
    if ev.status != "fail" or first_violation(ev) is None:
        raise UsageError(f"{path}: the run {'passed' if ev.status == 'pass' else 'did not fail (' + ev.status + ')'}; "
                         f"--issue has nothing to report")
    out = Path(out) if out else ev.path / "issue.md"
    png = out.with_name(out.stem + "-timeline.png")
    timeline = ev.path / "timeline.png"
    if not timeline.exists():
        from .timeline import render_timeline

        timeline.write_bytes(render_timeline(ev))
    if timeline.resolve() != png.resolve():
        shutil.copyfile(timeline, png)
    out.write_text(issue_markdown(ev, png.name))
    return out
