"""The `chaos` command line."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from chaos import options
from chaos.errors import ChaosError, RunNotFound, UsageError
from chaos.evidence import layout
from chaos.host import doctor, registry, teardown
from chaos.litellm.versions import DEFAULT_LITELLM_VERSION, TESTED_LITELLM_VERSIONS
from chaos.oracle.verdict import EXIT_CODES, SEVERITY
from chaos.run.progress import Progress
from chaos.stack import BACKENDS, RestartPolicy, StackConfig, open_stack
from chaos.stack.config import DEFAULT_MODELS


class ParseError(UsageError):
    """A command line argparse refused; printed as `chaos run: error: ...` (the verb's own prefix)."""

    def __init__(self, prog: str, message: str):
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise ParseError(self.prog, message)


def _whole_number(text: str) -> int:  # the range is checked where the value is used (one message for every verb)
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _positive_int(text: str) -> int:
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number >= 1")
    return value


def _add_stack_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--replicas", type=_whole_number, default=3, help="LiteLLM replicas (default 3)")
    p.add_argument("--litellm", default=DEFAULT_LITELLM_VERSION, metavar="VERSION", help=f"LiteLLM version (default {DEFAULT_LITELLM_VERSION})")
    p.add_argument("--litellm-venv", type=Path, metavar="PATH", help="run the LiteLLM installed in this virtualenv instead")
    p.add_argument("--base-port", type=_positive_int, metavar="N", help="consecutive ports from N instead of free ones")
    p.add_argument("--allow-requests-on-db-unavailable", action="store_true", help="LiteLLM general setting (the incident's)")
    p.add_argument("--no-restart", action="store_true", help="do not restart workers that exit on their own")
    p.add_argument("--backend", choices=BACKENDS, default="local", help="local processes (default) or Docker Compose")
    p.add_argument("--images", choices=("official", "local"), default="official",
                   help="compose backend: the official images (default) or the ones `chaos images build` made")
    options.add_cli(p, only=("seed_via", "models", "models_file", "litellm_config", "db_models_from"))


def _config(args) -> StackConfig:
    fields = options.model_fields(options.from_cli(args)) or {"models": DEFAULT_MODELS}
    return StackConfig(
        replicas=args.replicas,
        litellm_version=args.litellm,
        litellm_venv=args.litellm_venv,
        base_port=args.base_port,
        allow_requests_on_db_unavailable=args.allow_requests_on_db_unavailable,
        restart_policy=RestartPolicy(enabled=not args.no_restart),
        images=args.images,
        seed_via=args.seed_via,
        **fields,
    )


def _raise_on_sigterm() -> None:
    """SIGTERM (e.g. from `chaos down`) unwinds like Ctrl-C, so every teardown runs."""

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def _print_stack(stack) -> None:
    d = stack.describe()
    print(f"run:        {stack.run_id}")
    print(f"run dir:    {stack.run_dir}")
    print(f"LiteLLM:    {d['litellm_version']} ({d['backend']} backend; Prisma engine: {d['prisma_query_engine']})")
    print(f"master key: {stack.master_key}")
    for w in stack.workers():
        print(f"{w.name}:   {w.url}  (pid {w.pid}, {w.state.value})")
    print(f"models:     {', '.join(d['models'])}")
    print(f"started in {d['timings'].get('total_s')} s (infra {d['timings'].get('infra_s')} s, workers {d['timings'].get('workers_s')} s)")


def cmd_up(args) -> int:
    config = _config(args)
    if args.detach:
        return _detach(args, config)
    stack = open_stack(config, args.backend)
    with stack:
        _print_stack(stack)
        print(f"up; stop with Ctrl-C or `chaos down {stack.run_id}`", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("tearing down", flush=True)
    return 0


def _detach(args, config: StackConfig) -> int:
    """Run `chaos up` in the background and return once its stack is ready."""
    config.validate()  # bad input fails here, before a background harness exists
    argv = [a for a in sys.argv[1:] if a != "--detach"]
    from chaos.host.paths import state_dir

    state_dir().mkdir(parents=True, exist_ok=True)
    log_path = state_dir() / f"up-{os.getpid()}-{int(time.time())}.log"
    with open(log_path, "wb") as log:
        child = subprocess.Popen([sys.executable, "-m", "chaos.cli", *argv], stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
    while True:
        entry = next((e for e in registry.all_entries() if e.get("harness_pid") == child.pid), None)
        if entry and entry.get("status") == "ready":
            # into the run's directory: `chaos down` removes it with the run (the harness keeps writing to it)
            moved = Path(entry["run_dir"]) / "harness.log"
            log_path.rename(moved)
            print(_status_line(entry))
            print(f"harness pid {child.pid}, output in {moved}")
            return 0
        if child.poll() is not None:
            lines = [ln for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()]
            print(lines[-1] if lines else f"chaos up exited with {child.returncode}", file=sys.stderr)
            log_path.unlink(missing_ok=True)
            return child.returncode or 1
        time.sleep(0.2)


def _status_line(entry: dict) -> str:
    workers = ", ".join(f"{w['name']}={w['url']}" for w in entry.get("workers", []))
    return f"{entry['run_id']}  {entry.get('status')}  LiteLLM {entry.get('litellm_version')}  {workers}"


def _status_json(entry: dict) -> dict:
    return {
        "run_id": entry["run_id"],
        "run_dir": entry.get("run_dir"),
        "status": entry.get("status"),
        "harness_pid": entry.get("harness_pid"),
        "harness_alive": teardown.harness_alive(entry),
        "backend": entry.get("backend"),
        "litellm_version": entry.get("litellm_version"),
        "prisma_query_engine": entry.get("prisma_query_engine"),
        "master_key": entry.get("master_key"),
        "workers": [{k: w.get(k) for k in ("name", "url", "pid", "state")} for w in entry.get("workers", [])],
    }


def _entry(run_id: str) -> dict:
    entry = registry.read(run_id)
    if entry is None:
        known = [e["run_id"] for e in registry.all_entries()]
        raise RunNotFound(f"no run {run_id!r}; known runs: {', '.join(known) or 'none'}")
    return entry


def cmd_status(args) -> int:
    entries = [_entry(args.run_id)] if args.run_id else registry.all_entries()
    if args.json:
        print(json.dumps(_status_json(entries[0]) if args.run_id else {"runs": [_status_json(e) for e in entries]}, indent=2))
    elif not entries:
        print("no runs")
    else:
        for entry in entries:
            alive = "" if teardown.harness_alive(entry) else "  (harness gone: `chaos down --all` cleans up)"
            print(_status_line(entry) + alive)
    return 0


def cmd_down(args) -> int:
    if args.all == bool(args.run_id):
        raise UsageError("chaos down: name one RUN_ID or pass --all")
    if args.include_live and not args.all:
        raise UsageError("chaos down: --include-live goes with --all")
    results = teardown.down_all(args.include_live) if args.all else {args.run_id: teardown.down(_entry(args.run_id))}
    for run_id, done in results.items():
        print(f"{run_id}: " + ("; ".join(done) if done else "nothing left to stop"))
    if not results:
        print("no runs")
    return 0


def cmd_smoke(args) -> int:
    """Bring the stack up, pass one chat completion through every worker for every model, tear down."""
    from chaos.traffic.litellm_api import LiteLLMClient

    stack = open_stack(_config(args), args.backend)
    with stack:
        _print_stack(stack)
        failures = 0
        with LiteLLMClient(stack.master_key, timeout=30) as client:
            for w in stack.workers():
                for model in stack.config.models:
                    resp = client.chat(w.url, model)
                    ok = resp.status_code == 200
                    failures += not ok
                    detail = resp.json().get("id") if ok else resp.text[:200]
                    print(f"{'ok  ' if ok else 'FAIL'} {w.name} {model}: {resp.status_code} {detail}", flush=True)
    print("smoke: pass" if not failures else f"smoke: {failures} failure(s)")
    return 0 if not failures else 1


def _run_scenarios(scenarios_: list, args, *, repeat: int = 1, announce: str | None = None) -> int:
    """Run each scenario (repeat times), sharing one warm stack where the stack settings match;
    prints each verdict block; the exit code of the worst verdict."""
    from chaos.run.plan import plan_run, stack_pool
    from chaos.run.runner import Run

    settings = options.check_settings(options.from_cli(args))
    plans = [plan_run(settings, scenario) for scenario in scenarios_]  # every bad input found before the first starts
    statuses = []
    with stack_pool(settings) as pool:
        # a scenario's repeats come together: they share one warm stack
        planned = [Run(plan, pool=pool, progress=Progress.for_terminal(plan.scenario.name)) for plan in plans for _ in range(repeat)]
        if announce:
            print(announce, file=sys.stderr, flush=True)
        for run in planned:
            statuses.append(run.execute().status)
            print(run.verdict_block, flush=True)
    return EXIT_CODES[max(statuses, key=SEVERITY.get)]


def cmd_run(args) -> int:
    from chaos.scenarios import catalog

    names = args.scenario if isinstance(args.scenario, list) else [args.scenario]
    picked = [catalog.get(n) for n in names]
    if args.litellm is None and args.litellm_venv is None:
        issue = catalog.ISSUES.get(names[0]) if args.command == "reproduce" else None
        args.litellm = issue[1] if issue else DEFAULT_LITELLM_VERSION
    if getattr(args, "repeat", 1) < 1:
        raise UsageError(f"--repeat {args.repeat} must be a whole number >= 1")
    return _run_scenarios(picked, args, repeat=getattr(args, "repeat", 1))


def _budget(text: str) -> float:
    """30m, 1h, 90s or 45 (seconds) -> seconds."""
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text or "")
    if not m or float(m[1]) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time budget; expected e.g. 30m, 1h, 90s")
    return float(m[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[m[2]]


def _runner(settings, pool, results: Path):
    """make_run(scenario) -> a finished Run on the warm stack (explore, shrink, bisect)."""
    from chaos.run.plan import plan_run
    from chaos.run.runner import Run

    def make_run(scenario):
        run = Run(plan_run(replace(settings, results=results), scenario), pool=pool)
        run.execute()
        return run

    return make_run


def cmd_explore(args) -> int:
    from chaos.run.plan import stack_pool
    from chaos.search.explore import describe, explore
    from chaos.search.generate import Shape

    if args.runs is not None and args.budget is not None:
        raise UsageError("chaos explore: give --runs or --budget, not both")
    settings = options.check_settings(options.from_cli(args))
    out = settings.results / "explore" / time.strftime("%Y%m%d-%H%M%S")
    with stack_pool(settings) as pool:
        groups, results = explore(args.seed, Shape(settings.replicas or 2), _runner(settings, pool, settings.results / "explore-runs"),
                                  runs=args.runs if args.runs is not None or args.budget is not None else 10,
                                  budget_s=args.budget, out=out, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(f"{len(groups)} distinct failure(s) in {len(results)} run(s)")
    for n, g in enumerate(groups, 1):
        print(f"  {n}. {describe(g.signature)}: {len(g.runs)} run(s); smallest: seed {g.smallest['seed']}: {g.smallest['replay']}")
    print(f"summary: {out / 'summary.html'}")
    return 1 if groups else 0


def cmd_shrink(args) -> int:
    from chaos.evidence.load import load_evidence
    from chaos.run.plan import stack_pool
    from chaos.search.shrink import shrink, table

    ev = load_evidence(args.dir)
    if args.litellm is None and args.litellm_venv is None:
        args.litellm = ev.what_ran.get("litellm_version") or DEFAULT_LITELLM_VERSION
    settings = options.check_settings(options.from_cli(args))
    out = settings.results / "shrink" / time.strftime("%Y%m%d-%H%M%S")
    with stack_pool(settings) as pool:
        result = shrink(args.dir, args.tries, _runner(settings, pool, settings.results / "shrink-runs"), out=out,
                        log=lambda m: print(m, file=sys.stderr, flush=True))
    print(table(result))
    print(f"original fails the same way {result['original_share']:.0%} of {args.tries} tries; "
          f"{len(result['runs'])} runs in {result['wall_s']:.0f} s")
    print(f"shrunk schedule: {result['schedule']}")
    return 0


def cmd_bisect(args) -> int:
    from chaos.litellm.env import check_available
    from chaos.run.plan import stack_pool
    from chaos.scenarios import catalog
    from chaos.search.bisection import UNUSABLE, Tried, bisect, candidates, check_invariant, judge

    scenario = catalog.get(args.scenario)
    check_invariant(args.invariant)
    settings = options.check_settings(options.from_cli(args))
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    versions, skipped = candidates(args.good, args.bad, args.include_prereleases)
    log(f"bisect: {len(versions)} release(s) from {args.good} to {args.bad}; about {max(1, len(versions).bit_length())} "
        f"to try, {args.tries} run(s) each")
    for v, why in skipped:
        log(f"skipped {v}: {why}")

    def outcome_of(version: str) -> Tried:
        try:
            check_available(version)  # resolved only now, for the releases the search reaches
        except ChaosError as exc:
            log(f"bisect: {version}: {UNUSABLE} ({exc})")
            return Tried(version, UNUSABLE, [f"not installable here: {exc}"])
        statuses, folders = [], []
        with stack_pool(settings) as pool:  # one version, one stack
            make_run = _runner(replace(settings, litellm=version), pool, settings.results / "bisect-runs")
            for _ in range(args.tries):
                run = make_run(scenario)
                invariant = run.verdict.invariant(args.invariant) if args.invariant else None
                statuses.append(invariant.status if invariant else run.verdict.status)  # aborted: no invariants
                folders.append(str(run.evidence))
        t = Tried(version, judge(statuses), statuses, folders)
        log(f"bisect: {version}: {t.outcome} {statuses}")
        return t

    t0 = time.monotonic()
    changed_in, tried, conclusion = bisect(versions, outcome_of)
    what = f"{scenario.name}'s {args.invariant}" if args.invariant else f"{scenario.name}'s verdict"
    print(f"{what} between {args.good} (good) and {args.bad} (bad): {len(versions)} installable release(s), "
          f"{len(tried)} tried, {sum(len(t.statuses) for t in tried)} runs, {time.monotonic() - t0:.0f} s")
    print("| version | outcome | runs | evidence |\n|---|---|---|---|")
    for t in tried:
        print(f"| {t.version} | {t.outcome} | {', '.join(t.statuses)} | {' '.join(t.evidence)} |")
    print(conclusion)
    return 0 if changed_in else 1


def cmd_replay(args) -> int:
    """The schedule again, on the stack it ran on (recorded in schedule.json: LiteLLM version or
    virtualenv, replicas, models, settings, kind of start); --litellm / --litellm-venv / --models /
    --cold-start override."""
    from chaos.scenarios.catalog import INCIDENT_STACK
    from chaos.scenarios.scenario import Scenario
    from chaos.scenarios.schedule import Schedule

    schedule = Schedule.load(args.file)
    stack = dict(schedule.stack or INCIDENT_STACK)  # an old schedule without its stack: the incident's
    version, venv = stack.pop("litellm_version", None), stack.pop("litellm_venv", None)
    what = None
    if args.litellm is None and args.litellm_venv is None:
        if venv and not Path(venv).is_dir():
            raise UsageError(f"{args.file}: the run used the LiteLLM virtualenv {venv}, which no longer exists; "
                             f"pass --litellm VERSION or --litellm-venv PATH")
        args.litellm, args.litellm_venv = version or DEFAULT_LITELLM_VERSION, Path(venv) if venv else None
        what = f"the virtualenv {venv}" if venv else f"LiteLLM {args.litellm}" + ("" if version else " (not recorded: the default)")
        what = f"replay: {what}, {stack.get('replicas', '?')} replicas, as recorded in {args.file}"
    schedule = replace(schedule, stack=without_overridden(stack, args))
    return _run_scenarios([Scenario.from_schedule(schedule, f"replay of {args.file}", INCIDENT_STACK)], args, announce=what)


def without_overridden(recorded: dict, args) -> dict:
    """A replayed run's recorded stack settings, less those the command line sets over them."""
    stack = dict(recorded)
    if args.models or args.models_file or args.litellm_config:
        stack.pop("models", None)
    if args.cold_start:  # over the recorded kind of start
        stack.pop("fast_start", None)
    return stack


def cmd_report(args) -> int:
    from chaos.evidence.load import load_evidence
    from chaos.report.html import render_compare, render_report
    from chaos.report.summary import verdict_block

    if args.issue:
        from chaos.report.issue import write_issue

        if args.compare:
            raise UsageError("chaos report: --issue reports one run; leave out --compare")
        out = write_issue(args.dir, args.out)
        print(f"issue report: {out} (timeline: {out.with_name(out.stem + '-timeline.png')})")
        return 0
    if args.compare:
        out = render_compare(args.dir, args.compare, args.out)
        print(f"comparison: {out}")
        return 0
    if args.out:
        raise UsageError("chaos report: --out goes with --compare or --issue (a run's report is written into its folder)")
    render_report(args.dir)
    print(verdict_block(load_evidence(args.dir)))  # re-read: now it names the report
    return 0


def cmd_images_build(args) -> int:
    from chaos.stack.backends.images import build_all, options_from_environment

    options = options_from_environment(args.litellm or [DEFAULT_LITELLM_VERSION])
    options.extra_ca_certs = [] if args.no_extra_ca_certs else (args.extra_ca_certs or options.extra_ca_certs)
    options.prisma_env = args.prisma_env or options.prisma_env
    options.extra_paths = args.extra_path or options.extra_paths
    options.rebuild = args.rebuild
    options.only = args.only or []
    timings = build_all(options)
    print(f"images built: {len(timings)} in {sum(timings.values()):.0f} s" if timings else "all images present")
    return 0


def _base_env(args):
    """The LiteLLM a selftest or a mutant starts from: --litellm-venv, else the cached --litellm."""
    from chaos.litellm.env import ensure_env, env_from_venv
    from chaos.mutants.build import MIN_VERSION, supports

    if args.litellm_venv:
        env = env_from_venv(args.litellm_venv)
    else:
        version = args.litellm or DEFAULT_LITELLM_VERSION
        if not supports(version):  # before building anything
            raise UsageError(f"--litellm {version}: mutants patch LiteLLM >= {'.'.join(map(str, MIN_VERSION))} internals; pick a newer version")
        env = ensure_env(version)
    if not supports(env.version):
        raise UsageError(f"{env.root}: LiteLLM {env.version} is older than the {'.'.join(map(str, MIN_VERSION))} the mutants patch")
    return env


def _list_releases(args) -> int:
    from chaos.litellm.releases import table, version_key
    from chaos.litellm.versions import check_litellm_version

    if args.since:
        check_litellm_version(args.since, "--since")
    rows = table(args.since, args.include_prereleases)
    if not rows:
        raise UsageError(f"no LiteLLM release on the index from {args.since} on")
    width = max(len(r.version) for r, _, _ in rows)
    for release, status, why in rows:
        tags = " (tested)" if release.version in TESTED_LITELLM_VERSIONS else ""
        tags += " (default)" if release.version == DEFAULT_LITELLM_VERSION else ""
        print(f"{release.version:{width}s}  {release.released:%Y-%m-%d}  {status:15s}{tags}{'  ' + why if why else ''}")
    newest = max((r for r, s, _ in rows if s == "installable"), key=lambda r: version_key(r.version), default=None)
    print(f"newest that installs here: {newest.version if newest else 'none in this range'}")
    return 0


def cmd_selftest(args) -> int:
    from chaos.mutants import catalog, selftest

    if args.list:
        for m in catalog.MUTANTS.values():
            print(f"{m.name:26s} {m.expect:8s} {','.join(m.scenarios):22s} {m.change}")
        return 0
    names = [catalog.get(n).name for n in args.mutant or []]  # an unknown name: one line, nothing built
    if args.backend != "local":
        raise UsageError("chaos selftest: mutants are local virtualenvs; use --backend local")
    if args.rate is not None:
        options.check_positive("rate", args.rate, "requests/s per worker")
    plan = selftest.select(names, args.quick)
    base = _base_env(args)
    rows, out_dir = selftest.run_selftest(base, plan, args.results, rate=args.rate, keep_venvs=args.keep_venvs,
                                          log=lambda m: print(m, file=sys.stderr, flush=True))
    print(selftest.table(rows))
    print(selftest.summary(rows))
    print(f"selftest: {out_dir / 'selftest.md'}")
    return 0 if all(r.ok for r in rows) else 1


def cmd_mutant_build(args) -> int:
    from chaos.mutants import catalog
    from chaos.mutants.build import build_mutant_env

    mutant = catalog.get(args.name)
    if args.out.exists() and any(args.out.iterdir()):
        raise UsageError(f"--out {args.out} exists and is not empty; name a new directory")
    env = build_mutant_env(_base_env(args), mutant, args.out)
    print(f"mutant {mutant.name} (LiteLLM {env.version}): {env.root}")
    print(f"run it: chaos run S1 --litellm-venv {env.root}   or   pytest -m chaos --chaos-litellm-venv {env.root}")
    return 0


def cmd_env(args) -> int:
    from chaos.litellm.env import ensure_env

    if args.list:
        return _list_releases(args)
    if args.since or args.include_prereleases:
        raise UsageError("chaos env: --since and --include-prereleases go with --list")
    for version in args.litellm or TESTED_LITELLM_VERSIONS:
        env = ensure_env(version)
        if not args.quiet:
            print(f"LiteLLM {env.version}: {env.root} (prisma {env.prisma_client_version}, proxy-extras {env.proxy_extras_version})")
    return 0


def cmd_nightly_plan(args) -> int:
    from chaos import nightly
    from chaos.litellm.versions import check_litellm_version
    from chaos.scenarios import catalog

    versions = [check_litellm_version(v) for v in args.litellm or TESTED_LITELLM_VERSIONS]
    times = nightly.load_times(args.times) if args.times else nightly.load_times()
    names = list(catalog.SCENARIOS)
    if args.groups is not None:
        shards = nightly.shards_from_groups(versions, nightly.parse_groups(args.groups, names), times)
    else:
        shards = nightly.plan(versions, names, args.runners, times)
    if args.json:
        print(json.dumps({"include": [s.to_matrix() for s in shards]}))
        return 0
    for s in shards:
        print(f"{s.litellm} group {s.group}: {' '.join(s.scenarios)} (~{s.seconds / 60:.0f} min)")
    print(f"night: ~{nightly.night_estimate_s(shards) / 60:.0f} min with a runner per shard ({len(shards)} shards, "
          f"{nightly.SHARD_OVERHEAD_S / 60:.0f} min set-up each)")
    return 0


def cmd_nightly_summary(args) -> int:
    from chaos import nightly

    items = nightly.outcomes(args.dir)
    (args.dir / "summary.md").write_text(nightly.summary_markdown(items))
    (args.dir / layout.SUMMARY).write_text(nightly.summary_html(items))
    print(nightly.summary_markdown(items), end="")
    print(f"summary: {args.dir / 'summary.html'}")
    return 1 if nightly.unexpected(items) else 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="chaos", description="Chaos tests for the LiteLLM proxy in database mode")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("up", help="bring a stack up and keep it up for manual work")
    _add_stack_options(p)
    p.add_argument("--detach", action="store_true", help="return once the stack is ready; it stays up in the background")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("status", help="runs on this machine")
    p.add_argument("run_id", nargs="?", metavar="RUN_ID")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("down", help="tear down a run, or every run left behind (--all)")
    p.add_argument("run_id", nargs="?", metavar="RUN_ID")
    p.add_argument("--all", action="store_true", help="every run whose harness is gone (crashed or killed)")
    p.add_argument("--include-live", action="store_true", help="with --all: also runs whose harness is still alive")
    p.set_defaults(func=cmd_down)

    p = sub.add_parser("doctor", help="check prerequisites and say how to install what is missing")
    p.set_defaults(func=lambda args: doctor.run())

    p = sub.add_parser("smoke", help="up, one chat completion per worker and model, down")
    _add_stack_options(p)
    p.set_defaults(func=cmd_smoke)

    p = sub.add_parser("run", help="run chaos scenarios (S1..S13) on a warm stack and print each verdict")
    p.add_argument("scenario", metavar="SCENARIO", nargs="+")
    p.add_argument("--repeat", type=_positive_int, default=1, metavar="N", help="run each scenario N times")
    options.add_cli(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("reproduce", help="reproduce a LiteLLM issue: 26237 runs S1")
    p.add_argument("scenario", metavar="ISSUE")
    options.add_cli(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("explore", help="run generated schedules on a warm stack and group the failures they find")
    p.add_argument("--seed", type=_whole_number, default=0, help="the first seed (then seed+1, ...); default 0")
    p.add_argument("--runs", type=_positive_int, help="this many schedules (default 10)")
    p.add_argument("--budget", type=_budget, help="as many as fit in this time (30m, 1h)")
    options.add_cli(p)
    p.set_defaults(func=cmd_explore)

    p = sub.add_parser("shrink", help="find a smaller schedule that fails the same way as a failing run")
    p.add_argument("dir", type=Path, metavar="DIR", help="a failing run's evidence folder")
    p.add_argument("--tries", type=_positive_int, default=3, help="runs per candidate (default 3)")
    options.add_cli(p)
    p.set_defaults(func=cmd_shrink)

    p = sub.add_parser("bisect", help="the first LiteLLM release where a scenario's verdict (or an invariant) changes")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--good", required=True, metavar="VERSION", help="a release where it passes")
    p.add_argument("--bad", required=True, metavar="VERSION", help="a release where it fails")
    p.add_argument("--invariant", metavar="NAME", help="judge this invariant instead of the verdict")
    p.add_argument("--include-prereleases", action="store_true")
    p.add_argument("--tries", type=_positive_int, default=1, help="runs per version (default 1; more tell flaky versions)")
    options.add_cli(p)
    p.set_defaults(func=cmd_bisect)

    p = sub.add_parser("replay", help="run the schedule.json of an earlier run again")
    p.add_argument("file", type=Path)
    options.add_cli(p)
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("report", help="(re-)render timeline.png and report.html of an evidence folder")
    p.add_argument("dir", type=Path, metavar="DIR", help="an evidence folder, e.g. chaos-results/S1/latest")
    p.add_argument("--compare", type=Path, metavar="DIR_B", help="put this second run beside DIR (e.g. another LiteLLM version)")
    p.add_argument("--issue", action="store_true", help="a Markdown bug report of a failing run, ready to paste into "
                                                        "LiteLLM's issue template (the timeline PNG beside it)")
    p.add_argument("--out", type=Path, metavar="FILE", help="with --compare or --issue: where to write it (default: in DIR)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("images", help="the compose backend's images: `chaos images build` makes them without a registry")
    images = p.add_subparsers(dest="images_command", required=True, parser_class=_Parser)
    p = images.add_parser("build", help="build every missing image locally: debootstrap base, postgres, haproxy, toxiproxy, litellm, upstream")
    p.add_argument("--litellm", action="append", metavar="VERSION", help=f"LiteLLM image version(s) (default {DEFAULT_LITELLM_VERSION})")
    p.add_argument("--extra-ca-certs", action="append", type=Path, metavar="PATH",
                   help="CA certificate file or folder of *.crt to trust in the images (default: this machine's /usr/local/share/ca-certificates)")
    p.add_argument("--no-extra-ca-certs", action="store_true", help="trust only Debian's CA bundle")
    p.add_argument("--prisma-env", action="store_true",
                   help="carry this machine's Prisma engine env vars (PRISMA_QUERY_ENGINE_BINARY, ...) and the files they name into the LiteLLM image")
    p.add_argument("--extra-path", action="append", type=Path, metavar="PATH", help="with --prisma-env: more files the engine needs (same place in the image)")
    p.add_argument("--rebuild", action="store_true", help="rebuild images that exist already")
    p.add_argument("--only", action="append", metavar="SERVICE", help="only this service's image (and the base): postgres, haproxy, toxiproxy, upstream, litellm")
    p.set_defaults(func=cmd_images_build)

    p = sub.add_parser("selftest", help="test the suite against mutant gateways: each must be caught, a fixed build must pass")
    p.add_argument("--litellm", metavar="VERSION", help=f"the LiteLLM the mutants are made of (default {DEFAULT_LITELLM_VERSION})")
    p.add_argument("--litellm-venv", type=Path, metavar="PATH", help="make the mutants of the LiteLLM in this virtualenv")
    p.add_argument("--mutant", action="append", metavar="NAME", help="only this mutant (repeatable); see --list")
    p.add_argument("--quick", action="store_true", help="the quick subset CI runs (a fixed build and one mutant, one scenario each)")
    p.add_argument("--list", action="store_true", help="list the mutants, what each changes and the scenarios that must catch it")
    p.add_argument("--rate", type=float, help="chat requests per second per worker (default: each scenario's own, else 40)")
    p.add_argument("--results", type=Path, default=Path("chaos-results"), help="evidence folders go here")
    p.add_argument("--backend", choices=BACKENDS, default="local", help="local only: mutants are virtualenvs")
    p.add_argument("--keep-venvs", type=Path, metavar="DIR", help="build the mutants' virtualenvs here and keep them")
    p.set_defaults(func=cmd_selftest)

    p = sub.add_parser("mutant", help="mutant gateways for your own runs: `chaos mutant build NAME --out DIR`")
    mutant = p.add_subparsers(dest="mutant_command", required=True, parser_class=_Parser)
    p = mutant.add_parser("build", help="a copy of a LiteLLM virtualenv with one mutant's patches (for --litellm-venv)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--out", type=Path, required=True, metavar="DIR")
    p.add_argument("--litellm", metavar="VERSION")
    p.add_argument("--litellm-venv", type=Path, metavar="PATH")
    p.set_defaults(func=cmd_mutant_build)

    p = sub.add_parser("nightly", help="the nightly fan-out: `plan` the shards, `summary` of the night")
    nightly = p.add_subparsers(dest="nightly_command", required=True, parser_class=_Parser)
    p = nightly.add_parser("plan", help="each version's scenarios in groups of about equal recorded run time")
    p.add_argument("--runners", type=_positive_int, default=4, help="shards per LiteLLM version (default 4)")
    p.add_argument("--groups", metavar="SPEC", help="the groups by hand instead, e.g. 'S1,S2|S3,S4,...' (every scenario once)")
    p.add_argument("--litellm", action="append", metavar="VERSION", help="default: every tested version")
    p.add_argument("--times", type=Path, metavar="FILE", help="recorded run times (default scenarios/run_times.json)")
    p.add_argument("--json", action="store_true", help="the GitHub Actions matrix")
    p.set_defaults(func=cmd_nightly_plan)
    p = nightly.add_parser("summary", help="one page of the night from every shard's JUnit file and evidence")
    p.add_argument("dir", type=Path, metavar="DIR", help="the folder the shards' artifacts were downloaded to")
    p.set_defaults(func=cmd_nightly_summary)

    p = sub.add_parser("env", help=f"build the cached LiteLLM environment(s) (default: {', '.join(TESTED_LITELLM_VERSIONS)})")
    p.add_argument("--litellm", action="append", metavar="VERSION")
    p.add_argument("--quiet", action="store_true", help="print only what is being built")
    p.add_argument("--list", action="store_true", help="list the releases on the package index: installable, denylisted, "
                                                       "or not installable here (and why)")
    p.add_argument("--since", metavar="VERSION", help="with --list: from this release on")
    p.add_argument("--include-prereleases", action="store_true", help="with --list: pre-releases too")
    p.set_defaults(func=cmd_env)
    return parser


def main(argv: list[str] | None = None) -> int:
    _raise_on_sigterm()
    try:
        args = build_parser().parse_args(argv)
        if args.command != "down":  # `chaos down` says itself what it removes
            for line in teardown.sweep_orphans():
                print(f"chaos: {line}", file=sys.stderr)
        return args.func(args)
    except ChaosError as exc:
        print(f"{exc.prog if isinstance(exc, ParseError) else 'chaos'}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        from chaos.stack.supervised import SupervisedStack

        started = SupervisedStack.started_here
        done = f"{started} stack(s) it started torn down" if started else "no stack had been started"
        print(f"chaos: interrupted; {done}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
