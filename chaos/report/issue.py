"""`chaos report DIR --issue`: a failing run as a bug report under the headings of LiteLLM's issue
template, written for a maintainer who has never heard of this suite: what happened (the first
violation in words), what was expected (the scenario's contract, once, with this run's result),
one set of counts, the steps (stack, proxy config with secrets removed, the schedule in words),
the timeline as a PNG next to the Markdown, how to replay it (the schedule inline, the commands
from a clean checkout), a log excerpt of whole records around the first violation, the version.
No absolute path of the machine it ran on."""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
from pathlib import Path

from chaos.errors import UsageError
from chaos.evidence import layout
from chaos.evidence.load import Evidence, load_evidence
from chaos.report.logwindow import log_window
from chaos.report.summary import STATUS_WORDS, class_totals, first_violation, headline_violation

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
    fv = headline_violation(ev)
    inv = next((i for i in ev.verdict.get("invariants", []) if i["name"] == fv.invariant), {})
    v = next((x for x in inv.get("violations", []) if x.get("worker") == fv.worker and x.get("model") == fv.model), {})
    seconds = (v.get("last", {}).get("t", fv.t) - v.get("first", {}).get("t", fv.t)) if v else 0
    detail = (v.get("first") or {}).get("detail") or ""
    said = f" (body: {detail[:160].strip().replace('`', chr(39))!r})" if detail else ""
    via = " through the load balancer (a Kubernetes-style Service in front of the replicas)" if fv.via else ""
    status = f"HTTP {fv.status}" if fv.status else "no answer"
    return (f"{fv.worker}{via} answered {status} (`{fv.cls}`){said} for model `{fv.model}`, "
            f"{fv.after_fault or 'before any fault'}; {fv.count} such answer(s) over {seconds:.1f} s on that model alone "
            f"(it broke the expectation `{fv.invariant}`, FAILED in the table below).")


def _config(ev: Evidence) -> str:
    overrides = ev.path / layout.CONFIG_OVERRIDES
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
    """The report, under the headings of LiteLLM's bug-report template (.github/ISSUE_TEMPLATE/bug_report.yml)."""
    what, schedule = ev.what_ran, ev.schedule or {}
    fv = headline_violation(ev)
    contract = [i for i in ev.verdict.get("invariants", []) if i.get("role", "contract") == "contract"]
    title = f"[Bug]: {fv.worker} answers {fv.cls.replace('_', ' ')} ({'HTTP ' + str(fv.status) if fv.status else 'no answer'}) " \
            f"for valid models in scenario {ev.scenario} (LiteLLM {what.get('litellm_version')})"
    replicas = (schedule.get("stack") or {}).get("replicas", "?")
    setup = [f"Run {replicas} proxy replicas, each its own process with `--num_workers 1`, against PostgreSQL 15 behind "
             f"HAProxy 2.6, with Toxiproxy on every database link; Prisma query engine: "
             f"{engine_in_words(what.get('prisma_query_engine'))} (connection-failure details can differ between engines).",
             _config(ev),
             f"With every replica up and serving every model (a baseline of {schedule.get('baseline_s', 3)} s checked that), "
             "send chat completions to every replica for every model, and through a load balancer that routes only to "
             "replicas whose `/health/readiness` answers 200 (Kubernetes' probe settings). Keep them going, and:"]
    steps = setup + [step_in_words(s) for s in schedule.get("steps", [])]
    steps.append(f"Undo every fault and watch the replicas for {ev.verdict.get('durations', {}).get('recovery_window_s', '?')} s.")
    window = log_window(ev.log_path(fv.worker), ev.wall_of(fv.t), f"model={fv.model}" if fv.model else None, context=8,
                        whole_records=True)
    excerpt = "\n".join(line for _, line, _ in window.numbered()) if window else "(no log of that worker in the evidence)"
    totals = class_totals(ev)
    counts = "\n".join(f"| {w} | {sum(c.get(k, 0) for c in models.values() for k in totals)} | "
                       + " | ".join(str(sum(c.get(k, 0) for c in models.values())) for k in totals) + " |"
                       for w, models in ev.verdict.get("counts", {}).items())
    version = what.get("litellm_version")
    text = f"""# {title}

### What happened?

{_violation_in_words(ev)}

What I expected is what the reporter of [#26237](https://github.com/BerriAI/litellm/issues/26237) expected: a replica
"should not serve traffic until router/model state is successfully loaded at least once, or should keep retrying and
recover automatically". In this test that is each expectation below:

| expectation | this run |
|---|---|
""" + "".join(f"| `{i['name']}`: {i['description']} | {STATUS_WORDS.get(i['status'], i['status'])} |\n" for i in contract) + f"""
Chat completions per replica and outcome over the whole run:

| replica | all | {' | '.join(totals)} |
|---|---|{'---|' * len(totals)}
{counts}

### Steps to Reproduce

""" + "\n".join(f"{n}. " + step.replace("\n", "\n   ") for n, step in enumerate(steps, 1)) + f"""

![timeline]({png_name})

The timeline: one lane per replica (a row per kind of answer; readiness underneath), the faults on top; red marks
are the answers that broke an expectation.

Found with litellm-chaos {_own_version()}, a fault-injection test suite for the LiteLLM proxy (real PostgreSQL,
HAProxy, Toxiproxy and LiteLLM replicas; only the LLM provider is a stand-in). It replays this exact run: save the
schedule below as `schedule.json`, then in a clean checkout of litellm-chaos:

```shell
scripts/bootstrap    # PostgreSQL, HAProxy, Toxiproxy, and LiteLLM in a virtualenv per version
.venv/bin/chaos replay schedule.json    # LiteLLM {version}, as recorded in the schedule
```

<details><summary>schedule.json</summary>

```json
{json.dumps(portable_schedule(schedule), indent=2)}
```
</details>

### Relevant log output

{fv.worker}'s log around that answer:

```shell
{excerpt}
```

### What part of LiteLLM is this about?

Proxy

### What LiteLLM version are you on ?

v{version}{_component_versions(what)}
"""
    return scrub_paths(text, ev.path)


def _component_versions(what: dict) -> str:
    env = what.get("litellm_env") or {}
    parts = [f"{what['litellm_variant']}" if what.get("litellm_variant") else "",
             f"litellm-proxy-extras {env['proxy_extras_version']}" if env.get("proxy_extras_version") else "",
             f"prisma-client-py {env['prisma_client_version']}" if env.get("prisma_client_version") else ""]
    parts = [p for p in parts if p]
    return f" ({', '.join(parts)})" if parts else ""


def engine_in_words(description: str | None) -> str:
    """The engine by kind and version, without the machine's path to it."""
    return re.sub(r": /\S+", "", description or "not recorded")


def portable_schedule(schedule: dict) -> dict:
    """schedule.json as another machine can replay it: no virtualenv or config path of this one."""
    stack = dict(schedule.get("stack") or {})
    for key in ("litellm_venv", "litellm_config", "evidence_dir"):
        stack.pop(key, None)
    return schedule | ({"stack": stack} if schedule.get("stack") is not None else {})


# the roots of this machine's paths (a run's folders, the cached environments, tracebacks' files)
_MACHINE_PATH = re.compile(r"(?<![\w.:/-])/(?:root|home|work|tmp|Users|var|opt|srv|mnt|private)(?:/[\w.@+-]+)+/?")


def scrub_paths(text: str, evidence: Path) -> str:
    """No absolute path of this machine: a traceback's file by its place in site-packages, the rest by name."""
    text = text.replace(str(evidence.resolve()), ".").replace(str(evidence), ".")
    text = re.sub(r"/\S*?/site-packages/", "site-packages/", text)
    return _MACHINE_PATH.sub(lambda m: f"<{Path(m[0].rstrip('/')).name}>", text)


def _own_version() -> str:
    try:
        return importlib.metadata.version("litellm-chaos")
    except importlib.metadata.PackageNotFoundError:
        return "(from a checkout)"


def write_issue(path: Path, out: Path | None = None) -> Path:
    ev = load_evidence(path)
    if ev.status != "fail" or first_violation(ev) is None:
        raise UsageError(f"{path}: the run {'passed' if ev.status == 'pass' else 'did not fail (' + ev.status + ')'}; "
                         f"--issue has nothing to report")
    out = Path(out) if out else ev.path / "issue.md"
    png = out.with_name(out.stem + "-timeline.png")
    timeline = ev.path / layout.TIMELINE
    if not timeline.exists():
        from chaos.report.timeline import render_timeline

        timeline.write_bytes(render_timeline(ev))
    if timeline.resolve() != png.resolve():
        shutil.copyfile(timeline, png)
    out.write_text(issue_markdown(ev, png.name))
    return out
