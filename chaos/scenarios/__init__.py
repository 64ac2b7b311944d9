"""Scenarios as data: schedules (steps, faults, waits; `schedule`), the Scenario type (a schedule,
the stack it needs, its contract; `scenario`) and the catalog S1-S13 (`catalog.get("S1")`)."""
