"""Generated schedules: a pure function of seed and shape (byte for byte), always valid, every
fault healed, triggers on behaviours under test always with a fallback, weights respected."""

import json

import pytest

from chaos.errors import UsageError
from chaos.faults import StackShape
from chaos.run.plan import check_schedule
from chaos.scenarios.schedule import UNDER_TEST_EVENTS
from chaos.search.generate import Options, Shape, generate

SHAPE = Shape(replicas=2)


def _bytes(schedule) -> str:
    return json.dumps(schedule.to_json(), sort_keys=True)


def test_the_same_seed_and_shape_give_the_same_schedule_byte_for_byte():
    for seed in range(50):
        assert _bytes(generate(seed, SHAPE)) == _bytes(generate(seed, SHAPE))
        assert generate(seed, SHAPE).seed == seed
    assert len({_bytes(generate(seed, SHAPE)) for seed in range(50)}) > 40  # seeds differ
    assert _bytes(generate(7, SHAPE)) != _bytes(generate(7, Shape(replicas=3)))


@pytest.mark.parametrize("seed", range(300))
def test_every_generated_schedule_is_valid_and_heals_what_it_breaks(seed):
    schedule = generate(seed, SHAPE)
    check_schedule(schedule, StackShape(SHAPE.replicas))  # fault parameters, workers, links
    applied = [s.id for s in schedule.steps if s.apply and s.apply["kind"] not in (
        "worker_restart", "worker_kill", "rolling_restart", "pg_terminate_backends")]
    healed = [s.heal for s in schedule.steps if s.heal]
    assert sorted(applied) == sorted(healed)
    for step in schedule.steps:
        if step.on in UNDER_TEST_EVENTS:
            assert step.fallback is not None


def test_weights_and_vocabulary_are_respected():
    only = Options(weights={"pg_stop": 1}, max_actions=3)
    kinds = {s.apply["kind"] for seed in range(30) for s in generate(seed, SHAPE, only).steps if s.apply}
    assert kinds == {"pg_stop"}
    with pytest.raises(UsageError, match="'meteor'"):
        generate(1, SHAPE, Options(weights={"meteor": 1}))
    with pytest.raises(UsageError, match="nothing could be drawn"):
        generate(1, SHAPE, Options(weights={"pg_stop": 0}))
    with pytest.raises(UsageError, match="not a whole number"):
        generate("x", SHAPE)


def test_model_changes_come_from_every_side():
    sides = set()
    for seed in range(200):
        for step in generate(seed, SHAPE).steps:
            change = step.create_models or step.delete_models or step.update_models
            if change:
                sides.add(change.get("via", "worker"))
    assert sides == {"worker", "front_door", "db"}
