"""Python consumers (cloud-init, pykickstart's ksvalidator, the cloud-init reader) run from a
fork server that has already imported them.

`cloud-init schema` spent ~0.45 s of its ~0.5 s importing cloudinit, and so did ksvalidator
with pykickstart: dozens of runs per suite. `run()` is `subprocess.run` for those programs:
one server per interpreter (started on first use, per test process) imports the modules
once; each call forks it, and the child becomes the program as its interpreter would run it
(argv, sys.path[0] the script's directory, cwd, environment, stdin/stdout/stderr on files,
the script run as `__main__`, its SystemExit the exit status). Nothing survives between
calls: every run is a fresh child of a process that has only imported modules. Any other
argv (or an environment that changes PYTHONPATH, which must apply before imports) goes to
subprocess.run unchanged.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

SYSTEM_PYTHON = "/usr/bin/python3"
KSVALIDATOR = str(Path(sys.executable).parent / "ksvalidator")
# makeVersion imports the release's handler when asked: these are the ones the tests name.
KS_PRELOAD = ["pykickstart.load", "pykickstart.parser", "pykickstart.version"]
KS_PRELOAD += [f"pykickstart.handlers.{v}" for v in ("rhel7", "rhel8", "rhel9")]
# program (argv[0]) -> (interpreter, script, modules to import in the server)
PROGRAMS = {
    "cloud-init": (SYSTEM_PYTHON, "/usr/bin/cloud-init", ["cloudinit.cmd.main"]),
    KSVALIDATOR: (sys.executable, KSVALIDATOR, KS_PRELOAD),
}
# `python -c CODE`: the interpreter and what CODE imports (tests/support/cloud_init.py).
CODE_PRELOAD = {SYSTEM_PYTHON: ["cloudinit.stages", "cloudinit.sources.DataSourceNoCloud"]}

SERVER = r"""
import importlib, json, os, runpy, sys, traceback
for name in sys.argv[3:]:
    importlib.import_module(name)
channel_in, channel_out = os.fdopen(int(sys.argv[1]), "r"), os.fdopen(int(sys.argv[2]), "w")
for line in channel_in:
    req = json.loads(line)
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        channel_in.close(); channel_out.close()
        code = 1
        try:
            os.chdir(req["cwd"])
            os.environ.clear(); os.environ.update(req["env"])
            for fd, (path, flags) in enumerate(req["files"]):
                f = os.open(path, flags, 0o600)
                os.dup2(f, fd)
                os.close(f)
            sys.argv = req["argv"]
            if req["code"] is not None:
                sys.path[0] = ""
                exec(compile(req["code"], "<string>", "exec"), {"__name__": "__main__"})
            else:
                sys.path[0] = os.path.dirname(req["script"])
                runpy.run_path(req["script"], run_name="__main__")
            code = 0
        except SystemExit as e:
            if e.code is None:
                code = 0
            elif isinstance(e.code, int):
                code = e.code
            else:
                print(e.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
        try:
            sys.stdout.flush(); sys.stderr.flush()
        finally:
            os._exit(code & 0xFF)
    _, status = os.waitpid(pid, 0)
    channel_out.write(json.dumps({"status": os.waitstatus_to_exitcode(status)}) + "\n")
    channel_out.flush()
"""


class _Server:
    def __init__(self, python: str, preload: list[str]) -> None:
        req_r, self._req_w = os.pipe()
        self._rep_r, rep_w = os.pipe()
        self.proc = subprocess.Popen(
            [python, "-c", SERVER, str(req_r), str(rep_w), *preload],
            pass_fds=(req_r, rep_w),
            stdin=subprocess.DEVNULL,
        )
        os.close(req_r)
        os.close(rep_w)
        self._out = os.fdopen(self._req_w, "w")
        self._in = os.fdopen(self._rep_r, "r")

    def call(self, req: dict[str, Any]) -> int:
        self._out.write(json.dumps(req) + "\n")
        self._out.flush()
        line = self._in.readline()
        if not line:
            raise RuntimeError(f"preloaded server died: exit {self.proc.wait()}")
        status: int = json.loads(line)["status"]
        return status

    def close(self) -> None:
        self._out.close()
        self._in.close()
        self.proc.wait(30)


_servers: dict[tuple[str, tuple[str, ...]], _Server] = {}


def _server(python: str, preload: list[str]) -> _Server:
    key = (python, tuple(preload))
    if key not in _servers:
        _servers[key] = _Server(python, preload)
    return _servers[key]


@atexit.register
def _close_all() -> None:
    for server in _servers.values():
        server.close()


def _request(
    argv: list[str], env: dict[str, str] | None
) -> tuple[str, list[str], dict[str, Any]] | None:
    """(interpreter, preload, request) when argv is a program served here, else None."""
    full_env = dict(os.environ if env is None else env)
    if full_env.get("PYTHONPATH") != os.environ.get("PYTHONPATH"):
        return None  # an extra source tree must be on sys.path before any import
    req: dict[str, Any] = {"env": full_env, "code": None, "script": None}
    if argv[0] in PROGRAMS:
        python, script, preload = PROGRAMS[argv[0]]
        req.update(script=script, argv=[script, *argv[1:]])
    elif argv[0] in CODE_PRELOAD and len(argv) >= 3 and argv[1] == "-c":
        python, preload = argv[0], CODE_PRELOAD[argv[0]]
        req.update(code=argv[2], argv=["-c", *argv[3:]])
    else:
        return None
    return python, preload, req


def run(
    argv: list[str],
    *,
    input: str | bytes | None = None,
    text: bool = False,
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
    capture_output: bool = True,
) -> subprocess.CompletedProcess[Any]:
    """subprocess.run(argv, capture_output=True, ...) for the programs above."""
    argv = [str(a) for a in argv]
    served = _request(argv, env)
    if served is None or not capture_output:
        kw: dict[str, Any] = {"input": input, "text": text, "cwd": cwd, "env": env}
        return subprocess.run(argv, capture_output=capture_output, check=False, **kw)
    python, preload, req = served
    with tempfile.TemporaryDirectory(prefix="cloudbr-preloaded-") as tmp:
        io = [Path(tmp) / name for name in ("stdin", "stdout", "stderr")]
        data = input.encode() if isinstance(input, str) else (input or b"")
        io[0].write_bytes(data)
        write = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        req["files"] = [[str(io[0]), os.O_RDONLY], [str(io[1]), write], [str(io[2]), write]]
        req["cwd"] = str(cwd or os.getcwd())
        status = _server(python, preload).call(req)
        out, err = io[1].read_bytes(), io[2].read_bytes()
    if text:
        return subprocess.CompletedProcess(argv, status, out.decode(), err.decode())
    return subprocess.CompletedProcess(argv, status, out, err)
