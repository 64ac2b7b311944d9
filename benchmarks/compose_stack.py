"""The compose backend: stack up to all replicas ready (3 replicas, local images, seed models
off so only the stack is timed), and `down`; with --build, the image build from nothing (every
litellm-chaos image removed first, debootstrap included).

    .venv/bin/python benchmarks/compose_stack.py [--rounds 2] [--replicas 3] [--build]

Prints figures only (needs a running Docker engine; the tests start one if needed)."""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos.host.docker_env import docker_client  # noqa: E402
from chaos.litellm.versions import DEFAULT_LITELLM_VERSION  # noqa: E402
from chaos.stack import StackConfig  # noqa: E402
from chaos.stack.backends.compose import ComposeStack  # noqa: E402
from chaos.stack.backends.images import build_all, options_from_environment  # noqa: E402


def build_from_nothing(version: str) -> None:
    client = docker_client()
    for image in client.images.list():
        if any(tag.startswith("litellm-chaos/") for tag in image.tags):
            client.images.remove(image.id, force=True)
    client.images.prune(filters={"dangling": True})
    t0 = time.monotonic()
    timings = build_all(options_from_environment([version]), log=lambda msg: None)
    total = time.monotonic() - t0
    print(f"image build from nothing: {total:.0f} s (" + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()) + ")")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--litellm", default=DEFAULT_LITELLM_VERSION)
    parser.add_argument("--build", action="store_true")
    args = parser.parse_args()
    if args.build:
        build_from_nothing(args.litellm)
    ups, downs = [], []
    for _ in range(args.rounds):
        stack = ComposeStack(StackConfig(replicas=args.replicas, litellm_version=args.litellm, images="local", seed_models=False),
                             log=lambda msg: None)
        t0 = time.monotonic()
        stack.start()
        ups.append(time.monotonic() - t0)
        t1 = time.monotonic()
        stack.close()
        downs.append(time.monotonic() - t1)
        print(f"  up {ups[-1]:.1f} s (infra {stack.timings.get('infra_s')} s, workers {stack.timings.get('workers_s')} s), "
              f"down {downs[-1]:.1f} s")
    print(f"compose stack, {args.replicas} replicas, LiteLLM {args.litellm}: up to all ready median {statistics.median(ups):.1f} s, "
          f"down median {statistics.median(downs):.1f} s")


if __name__ == "__main__":
    main()
