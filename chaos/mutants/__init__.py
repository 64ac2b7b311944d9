"""Mutant gateways: the installed LiteLLM with one deliberate bug each, for `chaos selftest`."""
