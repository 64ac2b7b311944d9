"""This repository's tests use the litellm-chaos pytest plugin (chaos/pytest_plugin.py: the
`chaos` marker, the --chaos-* options, the fixtures). Installing the package registers it
through its pytest11 entry point; from a bare checkout (not installed) it is enabled here."""

from importlib.metadata import entry_points

if not any(ep.value == "chaos.pytest_plugin" for ep in entry_points(group="pytest11")):
    pytest_plugins = ["chaos.pytest_plugin"]
