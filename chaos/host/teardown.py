"""Tearing down runs from their registry entries: `chaos down` and `chaos down --all`, also
after the harness that started them was SIGKILLed. A pid is only signalled while it still
belongs to the run (same start time as recorded, or the run id in its environment)."""

from __future__ import annotations

import shutil
import signal

from chaos.host import registry
from chaos.host.cpu_limit import remove_run_groups
from chaos.host.paths import runs_dir
from chaos.host.procs import is_same_process, kill_pids, pids_of_run, signal_group, wait_gone
from chaos.host.waiting import wait_until


def harness_alive(entry: dict) -> bool:
    pid = entry.get("harness_pid")
    return bool(pid) and is_same_process(pid, entry.get("harness_start_ticks"))


def down(entry: dict, *, grace: float = 30.0) -> list[str]:
    """Stop one run; return what was done, one line each."""
    run_id = entry["run_id"]
    done = []
    if harness_alive(entry):
        # a live harness tears down its own stack (and keeps its evidence): ask it, then wait
        kill_pids([entry["harness_pid"]], signal.SIGTERM)
        done.append(f"asked harness pid {entry['harness_pid']} to stop")
        wait_until(lambda: registry.read(run_id) is None, grace, interval=0.1)
        if harness_alive(entry) and registry.read(run_id) is not None:
            kill_pids([entry["harness_pid"]], signal.SIGKILL)
            done.append("harness did not finish in time: killed it")
    if entry.get("compose_project"):
        done += _down_compose(run_id)
    for proc in entry.get("processes", []):
        if proc.get("pid") and is_same_process(proc["pid"], proc.get("start_ticks")):
            signal_group(proc["pid"], signal.SIGKILL)
            done.append(f"killed {proc['name']} (pid {proc['pid']})")
    stragglers = pids_of_run(run_id)
    if stragglers:
        kill_pids(stragglers)
        done.append(f"killed {len(stragglers)} more process(es) tagged with the run id")
    wait_gone(stragglers + [p["pid"] for p in entry.get("processes", [])], 10)
    groups = remove_run_groups(run_id)
    if groups:
        done.append(f"removed {len(groups)} CPU-limit cgroup(s)")
    run_dir = runs_dir() / run_id
    if run_dir.exists():
        shutil.rmtree(run_dir, ignore_errors=True)
        done.append(f"removed {run_dir}")
    with registry.locked():
        registry.remove(run_id)
    return done


def _down_compose(run_id: str) -> list[str]:
    from chaos.host.docker_env import DockerUnavailable, docker_client
    from chaos.stack.backends.compose import remove_run_containers

    try:
        removed = remove_run_containers(docker_client(), run_id)
    except DockerUnavailable as exc:
        return [f"could not remove its containers: {exc}"]
    return [f"removed {len(removed)} container(s)/network(s) of compose project chaos-{run_id}"] if removed else []


def compose_runs_left() -> set[str]:
    """Run ids of containers carrying the run label (none when Docker is not reachable)."""
    from chaos.host.docker_env import engine_reachable

    if not engine_reachable():
        return set()
    from chaos.host.docker_env import docker_client
    from chaos.stack.backends.compose import RUN_LABEL

    return {c.labels.get(RUN_LABEL) for c in docker_client().containers.list(all=True, filters={"label": RUN_LABEL})} - {None, "manual"}


def down_all(include_live: bool = False) -> dict[str, list[str]]:
    """Every run left behind by a harness that is gone, and run directories that lost their
    registry entry. Runs whose harness is alive are only stopped with include_live."""
    results = {}
    for entry in registry.all_entries():
        if harness_alive(entry) and not include_live:
            results[entry["run_id"]] = [f"skipped: its harness (pid {entry['harness_pid']}) is alive; "
                                        f"`chaos down {entry['run_id']}` or --include-live stops it"]
            continue
        results[entry["run_id"]] = down(entry)
    if runs_dir().exists():
        for run_dir in runs_dir().iterdir():
            if run_dir.name not in results:
                results[run_dir.name] = down({"run_id": run_dir.name})
    for run_id in compose_runs_left() - set(results):  # containers whose registry entry is gone
        results[run_id] = down({"run_id": run_id, "compose_project": f"chaos-{run_id}"})
    return results


def sweep_orphans() -> list[str]:
    """Runs whose harness is gone (a run's watchdog normally removes them first): torn down, one
    line each. Kept stacks (no harness owns them) and live runs are left alone."""
    lines = []
    for entry in registry.all_entries():
        if entry.get("harness_pid") and not harness_alive(entry):
            done = down(entry, grace=0)
            killed = sum(1 for line in done if line.startswith("killed"))
            lines.append(f"removed run {entry['run_id']}, left behind by a harness that is gone (pid {entry['harness_pid']}): "
                         f"{len(done)} step(s), {killed} kill(s)")
    return lines
