"""CPU limits per worker, as a Kubernetes pod's `resources.limits.cpu` sets them: each local
worker runs in a cgroup of its own with a CFS quota (cgroup v1's cpu controller, or cgroup v2's
cpu.max). A worker's Prisma engine is its child and shares its quota, as in a pod.

The worker's command is wrapped in `sh -c 'echo $$ > GROUP/cgroup.procs && exec ...'`, so the
process is in its group before LiteLLM runs a line (no fork-time hook in a threaded harness).
The groups are named after the run (`litellm-chaos/<run id>.<worker>`): teardown and `chaos down`
remove them by that name."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from chaos.errors import UsageError

CGROUP_ROOT = Path("/sys/fs/cgroup")
GROUP_PARENT = "litellm-chaos"
PERIOD_US = 100_000  # the kernel's default CFS period, as Kubernetes uses


class CpuLimitUnavailable(UsageError):
    """--cpu-limit was asked for but this machine lets us set no CPU quota."""


def check_cpu_limit(cpus, cores: int | None = None) -> float:
    """A CPU limit per worker: more than 0, at most the machine's cores."""
    cores = cores or os.cpu_count() or 1
    if isinstance(cpus, bool) or not isinstance(cpus, (int, float)) or not 0 < cpus <= cores:
        raise UsageError(f"--cpu-limit {cpus!r} is out of range; expected CPUs per worker, more than 0 and at most "
                         f"this machine's {cores} core(s) (e.g. 0.5)")
    return float(cpus)


@dataclass(frozen=True)
class Controller:
    """Where this machine's CPU controller is and which cgroup version it speaks."""

    version: int  # 1 or 2
    parent: Path  # our groups go under here

    def describe(self) -> str:
        return "cgroup v1 cpu.cfs_quota_us" if self.version == 1 else "cgroup v2 cpu.max"


def find_controller(root: Path = CGROUP_ROOT) -> tuple[Controller | None, str]:
    """The CPU controller we may write to, or None and why not."""
    v1 = root / "cpu"
    if (v1 / "cpu.cfs_quota_us").exists():
        if not os.access(v1, os.W_OK):
            return None, f"cgroup v1 cpu controller at {v1} is not writable (run as root, or give this user a delegated cgroup)"
        return Controller(1, v1 / GROUP_PARENT), ""
    controllers = root / "cgroup.controllers"
    if controllers.exists():
        if "cpu" not in controllers.read_text().split():
            return None, f"cgroup v2 at {root} has no cpu controller"
        if not os.access(root / "cgroup.subtree_control", os.W_OK):
            return None, f"cgroup v2 at {root} is not writable (run as root, or give this user a delegated cgroup)"
        return Controller(2, root / GROUP_PARENT), ""
    return None, f"no cgroup CPU controller under {root}"


class CpuLimits:
    """The CPU quota of every worker of one run. Create before the workers start; remove after
    they are gone (a cgroup with processes in it cannot be removed)."""

    def __init__(self, cpus: float, run_id: str, controller: Controller):
        self.cpus = cpus
        self.run_id = run_id
        self.controller = controller

    @classmethod
    def for_run(cls, cpus: float, run_id: str, root: Path = CGROUP_ROOT) -> "CpuLimits":
        controller, why = find_controller(root)
        if controller is None:
            raise CpuLimitUnavailable(f"--cpu-limit {cpus:g}: cannot set a CPU limit here: {why}; run without --cpu-limit")
        return cls(cpus, run_id, controller)

    def group(self, worker: str) -> Path:
        return self.controller.parent / f"{self.run_id}.{worker}"

    def create(self, worker: str) -> Path:
        group = self.group(worker)
        if self.controller.version == 2:
            _enable_cpu(self.controller.parent.parent)
            self.controller.parent.mkdir(exist_ok=True)
            _enable_cpu(self.controller.parent)
            group.mkdir(exist_ok=True)
            (group / "cpu.max").write_text(f"{round(self.cpus * PERIOD_US)} {PERIOD_US}")
        else:
            group.mkdir(parents=True, exist_ok=True)
            (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(round(self.cpus * PERIOD_US)))
        return group

    def wrap(self, worker: str, argv: list[str]) -> list[str]:
        """The worker's command, joining its group first (exec keeps the pid, so signals and
        process groups are as without the wrapper)."""
        procs = self.group(worker) / "cgroup.procs"
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(procs), *argv]

    def throttled_s(self, worker: str) -> float | None:
        """Seconds the worker was held back by its quota so far (cpu.stat)."""
        try:
            stat = dict(line.split() for line in (self.group(worker) / "cpu.stat").read_text().splitlines() if line.strip())
        except (OSError, ValueError):
            return None
        if "throttled_usec" in stat:  # v2
            return int(stat["throttled_usec"]) / 1e6
        return int(stat.get("throttled_time", 0)) / 1e9  # v1: nanoseconds

    def describe(self) -> str:
        return f"{self.cpus:g} CPU per worker ({self.controller.describe()}, period {PERIOD_US // 1000} ms)"

    def remove(self) -> list[str]:
        return remove_run_groups(self.run_id, self.controller.parent)


def remove_run_groups(run_id: str, parent: Path | None = None) -> list[str]:
    """Remove a run's groups (their processes must be gone); return what was removed."""
    if parent is None:
        controller, _ = find_controller()
        if controller is None:
            return []
        parent = controller.parent
    removed = []
    for group in sorted(parent.glob(f"{run_id}.*")) if parent.is_dir() else []:
        try:
            group.rmdir()  # cgroupfs: rmdir of a group (its control files go with it)
            removed.append(str(group))
        except OSError:
            pass
    return removed


def _enable_cpu(group: Path) -> None:
    control = group / "cgroup.subtree_control"
    if "cpu" not in control.read_text().split():
        control.write_text("+cpu")
