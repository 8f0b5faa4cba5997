"""A one-node Slurm cluster on this machine for the tests: munged, slurmctld and slurmd with their own state.

``python tests/slurm_cluster.py start DIR`` writes ``DIR/slurm.conf`` for this host, starts the three daemons and
waits until ``sinfo`` shows the node idle; ``... stop DIR`` stops them and removes DIR. Client commands (``sbatch``,
``squeue``, dask-jobqueue) find the cluster through ``SLURM_CONF=DIR/slurm.conf``. Needs root and Debian's
``slurm-wlm`` and ``munge`` (``.ci/run`` installs them); :func:`unavailable` says why a machine cannot run it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")


def unavailable() -> str | None:
    """Why no cluster can be started here, or None."""
    missing = [d for d in (*DAEMONS, "sinfo", "sbatch") if not shutil.which(d)]
    if missing:
        return f"{', '.join(missing)} not installed (apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "slurmd must run as root"
    if not Path("/etc/munge/munge.key").exists():
        return "no munge key in /etc/munge/munge.key"
    return None


def _conf(d: Path, host: str, cpus: int, memory_mb: int) -> str:
    return f"""# A one-node test cluster (written by tests/slurm_cluster.py)
ClusterName=lottery-kit-test
SlurmctldHost={host}
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket={d}/munge.socket
CredType=cred/munge
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={d}/jobs.txt
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
DefMemPerCPU=1024
MpiDefault=none
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName={host} CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(d, timeout: float = 60.0) -> Path:
    """Start the cluster in directory ``d``; return the path of its slurm.conf."""
    d = Path(d).resolve()
    for sub in ("state", "spool"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    host = socket.gethostname().split(".")[0]
    cpus = os.cpu_count() or 1
    memory_mb = max(1024, int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20 * 0.8))
    conf = d / "slurm.conf"
    conf.write_text(_conf(d, host, cpus, memory_mb))
    env = os.environ | {"SLURM_CONF": str(conf)}
    subprocess.run(["munged", "--force", f"--socket={d}/munge.socket", f"--pid-file={d}/munged.pid",
                    f"--log-file={d}/munged.log", f"--seed-file={d}/munged.seed"], check=True, env=env)
    subprocess.run(["slurmctld", "-f", str(conf)], check=True, env=env)
    subprocess.run(["slurmd", "-f", str(conf)], check=True, env=env)
    deadline = time.time() + timeout
    state = ""
    while time.time() < deadline:
        state = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, env=env).stdout.strip()
        if state == "idle":
            return conf
        time.sleep(0.5)
    logs = "".join((d / f).read_text()[-1500:] for f in ("slurmctld.log", "slurmd.log") if (d / f).exists())
    stop(d, remove=False)
    raise RuntimeError(f"the test cluster's node did not become idle within {timeout:.0f} s (sinfo: {state!r})\n{logs}")


def stop(d, remove: bool = True) -> None:
    """Stop the daemons started in ``d`` (by their pid files) and remove ``d``."""
    d = Path(d)
    for daemon in reversed(DAEMONS):
        pid_file = d / f"{daemon}.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)
            except (ProcessLookupError, ValueError):
                pass
    time.sleep(1.0)
    if remove:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    command, where = sys.argv[1], sys.argv[2]
    if command == "start":
        print(start(where))
    else:
        stop(where)
