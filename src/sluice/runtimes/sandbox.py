"""The process runtime's sandbox: each job (and each handler worker) runs under bubblewrap, as
an unprivileged user when Sluice runs as root.

Inside, the machine's files are read-only; the data dir is an empty folder (so no job sees the
database, the admin password, the object store's files or another job's folder); the job's own
folder is the one writable place besides a private ``/tmp``; processes, IPC and the hostname are
the job's own (a job cannot see or signal the manager or other jobs, and every process it
starts, ``setsid`` escapees included, ends with it).
"""

import contextlib
import grp
import logging
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sluice.errors import BackendError
from sluice.runtimes.base import Mount

log = logging.getLogger(__name__)

DEFAULT_JOB_USER = "sluice-job"
SandboxMode = Literal["auto", "on", "off"]


@dataclass(frozen=True)
class JobUser:
    name: str
    uid: int
    gid: int


@dataclass(frozen=True)
class Sandbox:
    bwrap: str
    hidden: tuple[Path, ...]  # folders that jobs see empty: the data dir
    user: JobUser | None  # whom jobs run as; None: Sluice's own user
    network: bool = True
    setpriv: str = field(default_factory=lambda: shutil.which("setpriv") or "")

    def command(
        self, argv: list[str], cwd: Path, mounts: Iterable[Mount], *, die_with_parent: bool = True
    ) -> list[str]:
        """``argv`` as bubblewrap runs it, with ``mounts`` (and ``cwd``) visible. With
        ``die_with_parent`` it is killed when the thread that started it ends (the kernel ties
        that signal to the thread): right for a job, started by a thread that outlives it (a
        pool's, or one that waits for it), wrong for a worker that outlives the thread that
        started it (a worker leaves when its stdin closes)."""
        mounts = list(mounts)
        wrapped = [*self._as_job_user(), self.bwrap, *_read_only_root(mounts), "--dev", "/dev"]
        wrapped += ["--proc", "/proc"]
        wrapped += ["--tmpfs", "/tmp"]  # noqa: S108 (the job's own, empty /tmp)
        for folder in [*self.hidden, *_places_for(mounts)]:
            wrapped += ["--tmpfs", str(folder)]
        for mount in mounts:
            kind = "--ro-bind" if mount.read_only else "--bind"
            wrapped += [kind, str(mount.path), str(mount.inside)]
        wrapped += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if not self.network:
            wrapped.append("--unshare-net")
        if die_with_parent:
            wrapped.append("--die-with-parent")
        wrapped += ["--chdir", str(cwd), "--", *argv]
        return wrapped

    def popen_options(self) -> dict[str, Any]:
        """What ``subprocess.Popen`` needs to start the sandbox as the job user: nothing when
        ``setpriv`` switches to it (then Popen can vfork instead of copying the manager: 8 ms a
        start, not 40), the user otherwise."""
        if self.user is None or self.setpriv:
            return {}
        return {"user": self.user.uid, "group": self.user.gid, "extra_groups": []}

    def _as_job_user(self) -> list[str]:
        if self.user is None or not self.setpriv:
            return []
        user = self.user
        return [self.setpriv, f"--reuid={user.uid}", f"--regid={user.gid}", "--clear-groups"]

    def hand_over(self, folder: Path) -> None:
        """Make ``folder`` (a job's) the job user's, so the job can read and write in it.
        Entries may come and go meanwhile (a worker's folder holds the calls in flight)."""
        if self.user is None:
            return
        uid, gid = self.user.uid, self.user.gid
        os.chown(folder, uid, gid)
        for root, dirs, files in os.walk(folder):
            for name in (*dirs, *files):
                with contextlib.suppress(FileNotFoundError):
                    os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


_OWN = frozenset({"dev", "proc", "tmp"})  # the sandbox makes these its own


def _read_only_root(mounts: list[Mount]) -> list[str]:
    """The machine's files, read-only: ``/`` as one bind, or, when a mount goes to a top-level
    path the machine lacks (``/data``), each top-level folder bound into the sandbox's own
    root, where that path can be made. One bind is the cheaper start (about 1 ms a job)."""
    if not any(_needs_top_level_place(mount) for mount in mounts):
        return ["--ro-bind", "/", "/"]
    arguments: list[str] = []
    for entry in sorted(os.scandir("/"), key=lambda e: e.name):
        path = f"/{entry.name}"
        if entry.name in _OWN:
            continue
        if entry.is_symlink():
            arguments += ["--symlink", os.readlink(path), path]
        elif entry.is_dir() or entry.is_file():
            arguments += ["--ro-bind", path, path]
    return arguments


def _nearest_existing(path: Path) -> Path:
    return next(p for p in path.parents if p.exists())


def _needs_top_level_place(mount: Mount) -> bool:
    target = mount.target
    return target is not None and not target.exists() and _nearest_existing(target) == Path("/")


def _places_for(mounts: list[Mount]) -> list[Path]:
    """Empty folders to lay over read-only ones so that a mount elsewhere than its host path
    has a place: the nearest existing folder above a target that does not exist yet (``/mnt``
    for ``/mnt/data``; none for ``/data``, made in the sandbox's own root)."""
    places: list[Path] = []
    for mount in mounts:
        if mount.target is None or mount.target.exists():
            continue
        above = _nearest_existing(mount.target)
        if above != Path("/") and above not in places:
            places.append(above)
    return places


def open_for(user: JobUser, root: Path, folders: Iterable[Path]) -> None:
    """Let ``user`` pass through (not list) ``root`` and ``folders``, where its jobs' folders
    are, and refuse a ``root`` it could never reach."""
    for parent in [*reversed(root.resolve().parents)]:
        if not parent.stat().st_mode & 0o001:
            raise BackendError(
                f"the job user {user.name!r} cannot reach the data dir {root}: {parent} is not "
                f"open to others (chmod o+x {parent}, or choose a data dir elsewhere, such as "
                "/var/lib/sluice)"
            )
    for folder in (root, *folders):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o711)


def find_sandbox(
    mode: SandboxMode, hidden: tuple[Path, ...], job_user: str | None
) -> Sandbox | None:
    """The sandbox the settings ask for: ``auto`` uses bubblewrap when it is installed and
    works here, ``on`` requires it, ``off`` runs jobs as plain processes."""
    if mode == "off":
        return None
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        if mode == "on":
            raise BackendError("SLUICE_SANDBOX=on needs bubblewrap: install the bubblewrap package")
        log.warning("jobs are not sandboxed: install bubblewrap (bwrap) to isolate them")
        return None
    sandbox = Sandbox(bwrap, tuple(path.resolve() for path in hidden), _job_user(job_user))
    problem = _try(sandbox, ["/bin/true"])
    if problem:
        if mode == "on":
            raise BackendError(f"the job sandbox does not work here: {problem}")
        log.warning("jobs are not sandboxed: bubblewrap does not work here (%s)", problem)
        return None
    if _try(sandbox, [sys.executable, "-c", "pass"]):
        log.warning(
            "sandboxed jobs cannot run Sluice's Python (%s): a folder above it is closed to the "
            "job user, so `python3` in scripts and handler services without their own `python` "
            "fail; open it (chmod o+x) or set SLUICE_JOB_USER",
            sys.executable,
        )
    return sandbox


def _job_user(name: str | None) -> JobUser | None:
    """The configured job user; as root with none configured, Sluice's own (made if missing)."""
    if name is None and os.geteuid() != 0:
        return None
    wanted = name or DEFAULT_JOB_USER
    try:
        entry = pwd.getpwnam(wanted)
    except KeyError:
        if name is not None:
            raise BackendError(f"SLUICE_JOB_USER: there is no user {name!r}") from None
        entry = _create_user(wanted)
    if entry.pw_uid == 0:
        raise BackendError(f"SLUICE_JOB_USER: {wanted!r} is root; jobs need an unprivileged user")
    return JobUser(wanted, entry.pw_uid, entry.pw_gid)


def _create_user(name: str) -> pwd.struct_passwd:
    useradd = shutil.which("useradd")
    if useradd is None:
        raise BackendError(f"cannot create the job user {name!r}: set SLUICE_JOB_USER")
    argv = [useradd, "--system", "--no-create-home", "--user-group"]
    argv += ["--shell", "/usr/sbin/nologin", "--home-dir", "/nonexistent", name]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackendError(f"cannot create the job user {name!r}: {done.stderr.strip()}")
    log.info("created the unprivileged job user %s", name)
    grp.getgrnam(name)
    return pwd.getpwnam(name)


def _try(sandbox: Sandbox, command: list[str]) -> str:
    """Why the sandbox cannot run ``command`` here; "" when it can."""
    argv = sandbox.command(command, Path("/"), ())
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=30, check=False, **sandbox.popen_options()
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return done.stderr.strip() if done.returncode != 0 else ""
