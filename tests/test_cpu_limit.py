"""--cpu-limit: validation, the cgroup files written for v1 and v2 (on a directory laid out as
cgroupfs is), and the wrapper that puts a worker in its group before it runs. The kernel's side
(the quota really holding a worker back) is measured by a real run: tests/test_stack_cpu_limit.py."""

import subprocess

import pytest

from chaos.errors import UsageError
from chaos.host.cpu_limit import CpuLimits, CpuLimitUnavailable, check_cpu_limit, find_controller, remove_run_groups
from chaos.stack.config import StackConfig


@pytest.mark.parametrize("bad", [0, -1, 3, float("nan"), float("inf"), True, "1"])
def test_a_limit_outside_the_machine_is_refused_in_one_line(bad):
    with pytest.raises(UsageError, match=r"--cpu-limit .* expected CPUs per worker, more than 0 and at most this machine's 2"):
        check_cpu_limit(bad, cores=2)


def test_a_limit_within_the_machine_is_kept():
    assert check_cpu_limit(0.5, cores=2) == 0.5 and check_cpu_limit(2, cores=2) == 2.0


def test_stack_config_checks_its_limit():
    with pytest.raises(UsageError, match="--cpu-limit"):
        StackConfig(cpu_limit=0).validate()
    assert StackConfig(cpu_limit=None).validate().cpu_limit is None


def v1_tree(tmp_path):
    cpu = tmp_path / "cpu"
    cpu.mkdir()
    (cpu / "cpu.cfs_quota_us").write_text("-1")
    return tmp_path


def v2_tree(tmp_path, controllers="cpuset cpu io memory pids"):
    (tmp_path / "cgroup.controllers").write_text(controllers)
    (tmp_path / "cgroup.subtree_control").write_text("")
    return tmp_path


def test_v1_group_gets_a_quota_of_the_period(tmp_path):
    limits = CpuLimits.for_run(0.5, "run1", root=v1_tree(tmp_path))
    group = limits.create("worker-1")
    assert group == tmp_path / "cpu" / "litellm-chaos" / "run1.worker-1"
    assert (group / "cpu.cfs_quota_us").read_text() == "50000" and (group / "cpu.cfs_period_us").read_text() == "100000"
    assert "0.5 CPU per worker (cgroup v1" in limits.describe()


def test_v2_group_gets_cpu_max_and_the_controller_enabled_on_the_way(tmp_path):
    root = v2_tree(tmp_path)
    limits = CpuLimits.for_run(1.5, "run1", root=root)
    (root / "litellm-chaos").mkdir()  # cgroupfs makes a group's control files; a plain directory does not
    (root / "litellm-chaos" / "cgroup.subtree_control").write_text("")
    group = limits.create("worker-2")
    assert (group / "cpu.max").read_text() == "150000 100000"
    assert (root / "cgroup.subtree_control").read_text() == "+cpu"
    assert (root / "litellm-chaos" / "cgroup.subtree_control").read_text() == "+cpu"


def test_no_controller_is_one_line_naming_the_reason(tmp_path):
    with pytest.raises(CpuLimitUnavailable, match=r"--cpu-limit 0.5: cannot set a CPU limit here: no cgroup CPU controller"):
        CpuLimits.for_run(0.5, "run1", root=tmp_path)
    assert find_controller(v2_tree(tmp_path, "memory pids"))[1].endswith("has no cpu controller")


def test_the_wrapper_joins_the_group_before_it_runs_the_worker(tmp_path):
    limits = CpuLimits.for_run(0.5, "run1", root=v1_tree(tmp_path))
    group = limits.create("worker-1")
    out = subprocess.run(limits.wrap("worker-1", ["/bin/sh", "-c", "echo $$"]), capture_output=True, text=True, check=True)
    # exec keeps the pid: the process that ran is the one written into the group
    assert (group / "cgroup.procs").read_text().strip() == out.stdout.strip()


def test_throttled_seconds_are_read_from_cpu_stat(tmp_path):
    limits = CpuLimits.for_run(0.5, "run1", root=v1_tree(tmp_path))
    group = limits.create("worker-1")
    (group / "cpu.stat").write_text("nr_periods 10\nnr_throttled 3\nthrottled_time 2500000000\n")
    assert limits.throttled_s("worker-1") == 2.5
    assert limits.throttled_s("worker-9") is None


def test_removing_a_run_removes_only_its_groups(tmp_path):
    limits = CpuLimits.for_run(0.5, "run1", root=v1_tree(tmp_path))
    other = CpuLimits.for_run(0.5, "run2", root=tmp_path)
    for w in ("worker-1", "worker-2"):
        limits.create(w)
    other.create("worker-1")
    for group in (tmp_path / "cpu" / "litellm-chaos").iterdir():  # a plain directory is only empty after this
        for f in group.iterdir():
            f.unlink()
    assert len(limits.remove()) == 2
    assert [p.name for p in (tmp_path / "cpu" / "litellm-chaos").iterdir()] == ["run2.worker-1"]
    assert remove_run_groups("run3", tmp_path / "cpu" / "litellm-chaos") == []
