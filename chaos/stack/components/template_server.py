"""A LiteLLM start template: runs under a LiteLLM environment's own python (stdlib only, no chaos
import), imports LiteLLM's proxy once, then forks each worker start from that state, as
gunicorn's --preload does. A forked worker skips only the import: LiteLLM's startup (the CLI's
Prisma checks, app startup, Prisma engine spawn and connect, the settings and first model load
from the DB, the reload job) runs in the new process, with the worker's own environment.

    python template_server.py SOCKET

Requests on the Unix socket, one JSON object a connection:
  {"argv": [...], "env": {...}, "log": PATH, "exit_file": PATH, "cwd": PATH, "cgroup_procs": PATH|null}
answered with {"pid": N} once the child leads its own session (so signalling its process group
works at once), or {"error": "..."}. When a child exits, its exit code is written to its
exit_file (the harness's returncode). The template exits when its parent's socket is gone or on
SIGTERM; its children live on, each in its own session, until the harness stops them."""

import importlib
import json
import os
import signal
import socket
import sys

exit_files: dict[int, str] = {}


def reap(signum, frame) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        path = exit_files.pop(pid, None)
        if path:
            with open(path + ".tmp", "w") as f:
                f.write(str(os.waitstatus_to_exitcode(status)))
            os.replace(path + ".tmp", path)  # the harness never reads half a code


def child(request: dict, ready_w: int, run_server) -> None:
    """In the forked child: become the worker, then run LiteLLM's CLI as `litellm ARGS` would."""
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if request.get("cgroup_procs"):
            with open(request["cgroup_procs"], "w") as f:
                f.write(str(os.getpid()))
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(null)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])  # putenv too: LiteLLM's own children (prisma) get it
        sys.argv = list(request["argv"])
        os.write(ready_w, b"1")
        os.close(ready_w)
        run_server.main(args=sys.argv[1:], prog_name="litellm")  # click: ends in SystemExit
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # noqa: BLE001 - said in the worker's log, then a crash exit
        print(f"litellm-chaos template: worker start failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve(sock_path: str) -> None:
    importlib.import_module("litellm.proxy.proxy_server")  # the import every cold start repeats
    from litellm import run_server

    signal.signal(signal.SIGCHLD, reap)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path + ".tmp")
    server.listen(8)
    os.rename(sock_path + ".tmp", sock_path)  # the path appears only once connecting works
    print(f"litellm-chaos template: LiteLLM imported, forking workers on {sock_path}", flush=True)
    while True:
        conn, _ = server.accept()
        with conn:
            request = json.loads(conn.makefile("rb").readline())
            ready_r, ready_w = os.pipe()
            sys.stdout.flush()
            sys.stderr.flush()
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})  # record the pid before it can be reaped
            pid = os.fork()
            if pid == 0:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
                server.close()
                conn.close()
                os.close(ready_r)
                child(request, ready_w, run_server)
            exit_files[pid] = request["exit_file"]
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
            os.close(ready_w)
            started = os.read(ready_r, 1) == b"1"  # empty: it died before leading its session
            os.close(ready_r)
            answer = {"pid": pid} if started else {"error": "the forked worker died before it started"}
            conn.sendall((json.dumps(answer) + "\n").encode())


if __name__ == "__main__":
    serve(sys.argv[1])
