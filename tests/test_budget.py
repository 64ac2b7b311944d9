"""The load budget: the default traffic comes from the machine and the fleet, a rate the machine
cannot carry is refused in one line, and a calibration per version changes the budget."""

import pytest

from chaos.errors import UsageError
from chaos.host.machine import FRONT_DOOR_SHARE, Calibration, LoadShedder, PressureMonitor, budget
from chaos.options import RunSettings, plan_traffic
from chaos.oracle.coverage import CHAT_FLOOR, LISTING_FLOOR, Plan, chat_floor


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOS_CACHE_DIR", str(tmp_path))  # no calibration of this machine leaks in


def test_the_default_rate_comes_from_cores_and_replicas():
    two, four = budget(2, 3, cores=2), budget(2, 3, cores=8)
    assert two.rate_per_worker < four.rate_per_worker  # more cores, more traffic ...
    assert budget(3, 3, cores=2).rate_per_worker < two.rate_per_worker  # ... more replicas, less each
    assert two.rate_per_worker == pytest.approx(2 * 0.6 * 1000 / 35 / 2, abs=0.1)  # 24 ms LiteLLM + 11 ms harness
    assert "2 cores" in two.why and "not yet calibrated" in two.why
    t = plan_traffic(None, None, None, 3, 2, cores=2)
    assert t.rate_per_worker == two.rate_per_worker and t.rate_source == "the load budget"
    assert t.front_door_rate == pytest.approx(t.rate_per_worker * 2 * FRONT_DOOR_SHARE, abs=0.01)


def test_a_scenarios_rate_is_capped_by_the_budget_and_rate_wins_when_carried():
    b = budget(2, 3, cores=2)
    assert plan_traffic(None, None, 5.0, 3, 2, cores=2).rate_per_worker == 5.0  # under the budget: kept
    capped = plan_traffic(None, None, 400.0, 3, 2, cores=2)
    assert capped.rate_per_worker == b.rate_per_worker and "capped" in capped.rate_source
    assert plan_traffic(b.rate_per_worker, None, 5.0, 3, 2, cores=2).rate_per_worker == b.rate_per_worker


def test_a_rate_or_probe_interval_the_machine_cannot_carry_is_one_line_with_what_it_can():
    with pytest.raises(UsageError, match=r"^--rate 400 chats/s per worker: this machine carries about [\d.]+ for 2 workers .*ask for [\d.]+ or less$"):
        plan_traffic(400.0, None, None, 3, 2, cores=2)
    for bad in (-1.0, 0.0, float("nan"), float("inf")):
        with pytest.raises(UsageError, match=rf"^--rate {bad:g}: expected a positive number \(requests/s per worker\)$"):
            RunSettings(rate=bad).traffic(3, 2)
    with pytest.raises(UsageError, match=r"^--probe-per-pair-s 0.05: 1400 models need \d+ chats/s per worker; "
                                         r"this machine carries about [\d.]+ .* ask for --probe-per-pair-s [\d.]+ or more$"):
        plan_traffic(None, 0.05, None, 1400, 3, cores=2)
    with pytest.raises(UsageError, match=r"^--probe-per-pair-s 0: expected a positive number \(seconds\)$"):
        plan_traffic(None, 0.0, None, 3, 2, cores=2)
    slow = plan_traffic(None, 1000.0, None, 3, 2, cores=2)  # already met: the budget stays
    assert slow.rate_source == "the load budget"
    raised = plan_traffic(1.0, 1.0, None, 3, 2, cores=2)  # each pair every second: 4 chats/s with the front door's share
    assert raised.rate_per_worker == pytest.approx(4.0) and raised.rate_source == "--probe-per-pair-s"


def test_a_calibration_per_version_changes_that_versions_budget_only():
    before = budget(2, 3, "1.2.3", cores=2)
    Calibration.load().record("1.2.3", litellm_ms=48.0, unloaded_p99_s=0.04)
    after = budget(2, 3, "1.2.3", cores=2)
    assert after.calibrated and after.litellm_ms == 48.0 and after.rate_per_worker < before.rate_per_worker
    assert not budget(2, 3, "9.9.9", cores=2).calibrated
    assert Calibration.load().unloaded_p99_s("1.2.3") == 0.04


class FakeEngine:
    chat_scale = 1.0
    listing_scale = 1.0


def test_the_shedder_sheds_chats_first_then_listings_and_takes_them_back():
    engine, events = FakeEngine(), []
    shed = LoadShedder(engine, lambda kind, **kw: events.append(kw))
    t = 0.0
    for _ in range(10):  # sustained high pressure
        t += 3
        shed(t, 90.0)
    assert engine.chat_scale == CHAT_FLOOR and engine.listing_scale < 1.0
    assert events[0]["chat_scale"] < 1.0 and events[0]["listing_scale"] == 1.0  # chats went first
    for _ in range(20):  # pressure gone
        t += 3
        shed(t, 5.0)
    assert engine.chat_scale == 1.0 and engine.listing_scale == 1.0
    shed(t + 3, 90.0)
    n = len(events)
    shed(t + 3.5, 90.0)  # within the hold time of the last change: nothing (pressure lags the change)
    assert len(events) == n


def test_pressure_stretches_and_summary():
    mon = PressureMonitor(sample_s=0.5)
    mon.samples = [(1.0, 10.0), (1.5, 80.0), (2.0, 90.0), (2.5, 5.0), (3.0, 70.0)]
    assert mon.stretches_above(40.0) == [(1.0, 2.0), (2.5, 3.0)]
    s = mon.summary(0.0, 4.0)
    assert s["max_pct"] == 90.0 and s["avg_pct"] == 51.0 and s["high_s"] == 1.5


def test_the_monitor_reads_this_machines_pressure():
    import time

    with PressureMonitor(sample_s=0.05) as mon:
        time.sleep(0.3)
    assert mon.samples and mon.source in ("psi", "loadavg")
    assert all(0 <= pct <= 100 or mon.source == "loadavg" for _, pct in mon.samples)


def test_many_pairs_keep_their_chats_so_recovery_can_still_be_judged():
    assert chat_floor(0.234, 30) == CHAT_FLOOR  # 3 models: shed down to 40 %
    assert chat_floor(16.4, 30) == 1.0  # 140 models: a pair every 16 s; fewer would leave recovery unjudged
    assert chat_floor(10.0, 30) == 0.667
    engine = FakeEngine()
    shed = LoadShedder(engine, lambda kind, **kw: None, chat_floor=1.0)
    for t in range(3, 60, 3):
        shed(float(t), 95.0)
    assert engine.chat_scale == 1.0 and engine.listing_scale == LISTING_FLOOR  # only listings shed
    assert Plan(chat_pair_s=16.4, listing_s=0.1, chat_floor=1.0).catch_window_s() == 16.65


def test_many_models_poll_listings_less_and_calibrate_apart():
    few, many = plan_traffic(None, None, None, 3, 3, cores=2), plan_traffic(None, None, None, 140, 3, cores=2)
    assert few.listing_rate_per_worker == 10.0 and many.listing_rate_per_worker == round(10.0 * 20 / 140, 2)
    Calibration.load().record("1.2.3@many-models", litellm_ms=120.0)
    assert budget(3, 140, "1.2.3", cores=2).litellm_ms == 120.0 and not budget(3, 3, "1.2.3", cores=2).calibrated


def test_a_cpu_limit_caps_each_workers_share_of_the_budget():
    free = budget(2, 3, "9.9.9", cores=2)  # 24 ms default: 2 x 60 % / 35 ms = 34/s for 2 workers, 17.1 each
    limited = budget(2, 3, "9.9.9", cores=2, cpu_limit=0.25)  # 0.25 x 60 % / 24 ms = 6.2/s
    assert free.rate_per_worker == pytest.approx(17.1, abs=0.1)
    assert limited.rate_per_worker == pytest.approx(6.2, abs=0.1) and "capped by --cpu-limit 0.25" in limited.why
    assert budget(2, 3, "9.9.9", cores=2, cpu_limit=2).rate_per_worker == free.rate_per_worker  # a loose limit changes nothing
