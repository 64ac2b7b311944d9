"""python -m chaos.upstream --port N: run the fake upstream on 127.0.0.1."""

import argparse

from aiohttp import web

from .server import build_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m chaos.upstream")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(build_app(), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
