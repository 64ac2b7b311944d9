"""The backends that run a stack: `local` (processes on 127.0.0.1) and `compose` (Docker
Compose services; their containers and images)."""
