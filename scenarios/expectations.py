"""Expected outcomes per (scenario, LiteLLM version), from observed runs, with the reason.

An invariant listed here fails because of a known upstream bug: its test is xfail(strict=True),
so CI goes red when the behaviour changes in either direction (fixed, or broken differently)."""

ISSUE_26237 = "LiteLLM #26237"
STUCK_AFTER_FAILED_FIRST_LOAD = (
    f"{ISSUE_26237}: a worker started while its DB is unreachable drops its Prisma client, never schedules the "
    "model reload, and answers 400 'Invalid model name' for every model until restarted (1.82.3)"
)
INVALID_MODEL_DURING_OUTAGE = (
    f"{ISSUE_26237}, partly fixed in 1.106.x: while the DB is unreachable at start the worker answers 400 "
    "'Invalid model name' with readiness 200; it recovers after the DB returns (reconnect cooldown)"
)

KNOWN_FAILURES: dict[tuple[str, str], dict[str, str]] = {
    ("S1", "1.82.3"): {
        "no_invalid_model_strict": STUCK_AFTER_FAILED_FIRST_LOAD,
        "no_invalid_model_ready_gated": STUCK_AFTER_FAILED_FIRST_LOAD,
        "readiness_truthful": STUCK_AFTER_FAILED_FIRST_LOAD,
        "recovery": STUCK_AFTER_FAILED_FIRST_LOAD,
        "no_model_lost": STUCK_AFTER_FAILED_FIRST_LOAD,
    },
    ("S1", "1.106.2"): {
        "no_invalid_model_strict": INVALID_MODEL_DURING_OUTAGE,
        "no_invalid_model_ready_gated": INVALID_MODEL_DURING_OUTAGE,
        "readiness_truthful": INVALID_MODEL_DURING_OUTAGE,
    },
}


def known_failure(scenario: str, version: str, invariant: str) -> str | None:
    return KNOWN_FAILURES.get((scenario, version), {}).get(invariant)
