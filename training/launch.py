"""``python -m training launch --workers N -- <train flags>``: one multi-worker run as N processes here.

Each worker is ``python -m training train --strategy multiworker <train flags>`` with its own
``TF_CONFIG`` (the cluster on free loopback ports, and its index); worker 0 is the chief and
writes the run folder. When a worker dies by a signal (killed, out of memory) the others are
stopped and the whole group is started again, up to ``--restarts`` times: they resume from
the last finished epoch's checkpoint in ``<out>/backup/`` (see training.distributed). A
worker that fails with an error (bad flags, missing data) is not retried: it would fail again.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

POLL_SECONDS = 0.2
STOP_GRACE_SECONDS = 10


def cluster_configs(ports: list[int]) -> list[dict]:
    """The TF_CONFIG of each worker of a loopback cluster on ``ports``."""
    workers = [f"127.0.0.1:{port}" for port in ports]
    return [{"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
            for index in range(len(ports))]


def start_workers(train_args: list[str], workers: int) -> list[subprocess.Popen]:
    """Start the worker processes; the chief's output is shown, the others' errors only."""
    from webapp.store.throwaway import free_port

    ports: list[int] = []
    while len(ports) < workers:
        # Each probe's port is free again at once: the same one may come back twice.
        port = free_port()
        if port not in ports:
            ports.append(port)
    processes = []
    for index, config in enumerate(cluster_configs(ports)):
        command = [sys.executable, "-m", "training", "train", "--strategy", "multiworker", *train_args]
        environment = {**os.environ, "TF_CONFIG": json.dumps(config)}
        processes.append(subprocess.Popen(command, env=environment,
                                          stdout=None if index == 0 else subprocess.DEVNULL))
    return processes


def wait_for_group(processes: list[subprocess.Popen]) -> list[int]:
    """Wait until all workers end, stopping the rest as soon as one fails; return their exit codes."""
    while any(process.poll() is None for process in processes):
        if any(process.poll() not in (None, 0) for process in processes):
            # A collective never completes without every worker: the survivors would hang.
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE_SECONDS
            for process in processes:
                try:
                    process.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            break
        time.sleep(POLL_SECONDS)
    return [process.returncode for process in processes]


def launch(train_args: list[str], workers: int, restarts: int, log: Callable[[str], None] = print) -> int:
    """Run the workers to the end, restarting the group after a worker is killed; return the exit status."""
    if workers < 1 or restarts < 0:
        raise ValueError(f"--workers must be at least 1 and --restarts 0 or more, not {workers} and {restarts}")
    for attempt in range(restarts + 1):
        codes = wait_for_group(start_workers(train_args, workers))
        if all(code == 0 for code in codes):
            return 0
        killed = [index for index, code in enumerate(codes) if code is not None and code < 0]
        if not killed or attempt == restarts:
            failed = next(code for code in codes if code != 0)
            log(f"workers ended with {codes}; giving up")
            return failed if failed > 0 else 1
        log(f"worker {killed[0]} was killed (exit codes {codes}); restarting all {workers} from the last checkpoint")
    return 1


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Flags of ``python -m training launch``."""
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default: %(default)s)")
    parser.add_argument("--restarts", type=int, default=2,
                        help="times the group restarts after a worker is killed (default: %(default)s)")
    parser.add_argument("train_args", nargs=argparse.REMAINDER, metavar="-- TRAIN FLAGS",
                        help="flags for `python -m training train` (after --), e.g. -- --out runs/distributed")


def run(args: argparse.Namespace) -> int:
    """Entry point of ``python -m training launch``."""
    train_args = list(args.train_args)
    if train_args[:1] == ["--"]:
        train_args = train_args[1:]
    if "--strategy" in train_args:
        raise ValueError("launch chooses --strategy multiworker itself: leave --strategy out")
    return launch(train_args, args.workers, args.restarts)
