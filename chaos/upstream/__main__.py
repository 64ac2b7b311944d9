"""python -m chaos.upstream --port N [--host H]: run the fake upstream (127.0.0.1 unless told;
the compose backend's container listens on its own network)."""

import argparse

from aiohttp import web

from chaos.upstream.server import build_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m chaos.upstream")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    web.run_app(build_app(), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
