"""The host a run shares: child processes, ports on 127.0.0.1, the run registry and teardown,
the watchdog, external binaries, the Docker engine, CPU pressure and limits, caches and paths."""
