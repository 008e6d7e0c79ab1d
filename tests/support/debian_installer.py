"""debian-installer's own code, run here, and a real Debian 12 root to install into.

- `installer_root()`: the text initrd of debian-installer-12-netboot-amd64 (a gzip'd cpio),
  unpacked once into the cache with every template of /var/lib/dpkg/info loaded by cdebconf's
  `debconf-loadtemplate`, as d-i's S20templates does at startup.
- `debian_root()`: a Debian 12 minbase root with systemd and resolvconf (mmdebstrap, from this machine's apt
  sources), built once into the cache. apt's lists are kept: the late script's
  `apt-get purge` must be able to tell an absent package from an unknown one.
- `run_installer()`: in a private mount namespace, an overlay of each (neither cache is ever
  written), the Debian root mounted at the installer's /target, then in a chroot of the
  installer, inside one `debconf -f noninteractive` run: d-i's `/bin/debconf-set-selections`
  loads the preseed, `db_get` reads every question back, and the late_command runs as
  `/bin/preseed_command` runs it (`log-output sh -c "$command"`, d-i's busybox sh and its real
  `in-target`). Set and get stay in one debconf run because cdebconf's file database turns a
  stored `\\n` into a newline when it is reloaded.
  The parser is d-i's shell `debconf-set-selections` (source package `preseed`, file
  debconf-set-selections; the copy run here is the one in the initrd of
  debian-installer-12-netboot-amd64 20230607+deb12u15; no public mirror of the package's
  repository was reachable to cite a commit): it drops
  `#` and blank lines, strips each line's leading whitespace and joins a line ending in `\\` to
  the next with one space.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

INITRD = Path("/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64/initrd.gz")
# resolvconf: what the preseed installs on Debian 12 for ifupdown's dns-* options. apt's
# package cache is built once here: without it each `apt-get purge` of a late script spends
# 1.6 s rebuilding it from the lists.
MMDEBSTRAP = (
    "mmdebstrap",
    "--variant=minbase",
    "--include=systemd,resolvconf",
    "--skip=cleanup/apt/lists",
    "--skip=cleanup/apt/cache",
    '--customize-hook=chroot "$1" apt-cache gencaches',
)
TIMEOUT_S = 900


def cache_root() -> Path:
    env = os.environ.get("CLOUDBR_TEST_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "cloudbr-test"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _cached(name: str, build: Callable[[Path], None]) -> Path:
    """cache/<name>/root, built by build(tmp_root) once, atomically, under a lock."""
    final = cache_root() / name
    with _locked(cache_root() / f"{name}.lock"):
        if not (final / "root").is_dir():
            tmp = cache_root() / f"{name}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            (tmp / "root").mkdir(parents=True)
            build(tmp / "root")
            tmp.rename(final)
    return final / "root"


def _unpack_installer(root: Path) -> None:
    with open(INITRD, "rb") as initrd:
        cpio = subprocess.Popen(["cpio", "-id", "--quiet"], cwd=root, stdin=subprocess.PIPE)
        assert cpio.stdin is not None
        subprocess.run(["gzip", "-dc"], stdin=initrd, stdout=cpio.stdin, check=True)
        cpio.stdin.close()
        assert cpio.wait(TIMEOUT_S) == 0
    load = 'for t in /var/lib/dpkg/info/*.templates; do debconf-loadtemplate d-i "$t"; done'
    subprocess.run(["chroot", str(root), "/bin/sh", "-ec", load], check=True, timeout=TIMEOUT_S)


def installer_root() -> Path:
    if not INITRD.is_file():
        raise FileNotFoundError(f"{INITRD}: install debian-installer-12-netboot-amd64")
    key = hashlib.sha256(INITRD.read_bytes()).hexdigest()[:16]
    return _cached(f"d-i-text-{key}", _unpack_installer)


def _debootstrap(root: Path) -> None:
    subprocess.run([*MMDEBSTRAP, "bookworm", str(root)], check=True, timeout=TIMEOUT_S)


def debian_root() -> Path:
    key = hashlib.sha256(" ".join(MMDEBSTRAP).encode()).hexdigest()[:16]
    return _cached(f"debian12-minbase-{key}", _debootstrap)


# Runs inside the installer (its busybox sh) under `debconf -f noninteractive`.
PROBE = r"""#!/bin/sh
. /usr/share/debconf/confmodule
# Boot parameters, as d-i's S32env-preseed imports them from init's environment.
[ -e /cloudbr/env ] && /bin/env2debconf
/bin/debconf-set-selections /cloudbr/preseed.cfg || { echo $? > /cloudbr/set.status; exit 0; }
echo 0 > /cloudbr/set.status
# stdin and stdout talk to debconf: the questions come on fd 4.
exec 4< /cloudbr/questions
i=0
while read -r question <&4; do
    i=$((i + 1))
    if db_get "$question"; then printf '%s' "$RET" > "/cloudbr/answer.$i"; fi
done
[ -e /cloudbr/run-late ] || exit 0
# /bin/preseed_command, for preseed/early_command (d-i: right after loading the preseed):
if db_get preseed/early_command && [ -n "$RET" ]; then
    code=0
    log-output sh -c "$RET" > /cloudbr/early.out 2>&1 || code=$?
    if [ "$code" != 0 ]; then echo "$code" > /cloudbr/late.status; exit 0; fi
fi
# /bin/preseed_command, for preseed/late_command:
db_get preseed/late_command
code=0
log-output sh -c "$RET" > /cloudbr/late.out 2>&1 || code=$?
echo "$code" > /cloudbr/late.status
"""

# Runs on this machine, as root, in a new mount namespace.
NAMESPACE = r"""set -eu
work=$1 target=$3
mount -t overlay overlay -o "lowerdir=$2,upperdir=$work/di.upper,workdir=$work/di.work" \
    "$work/di"
mount -t proc proc "$work/di/proc"
mount -t sysfs sysfs "$work/di/sys"
mount --rbind /dev "$work/di/dev"
mkdir -p "$work/di/cloudbr" "$work/di/target" "$work/di/run" "$work/di/media"
# The install medium, already mounted where d-i's mountmedia looks first (preseed_fetch's
# file:// method calls it): without one it would mount this machine's own disks, twice,
# 5 s apart. What the fetch reads is the file:// path itself, as on a real install.
mount -t tmpfs medium "$work/di/media"
mount --bind "$work/io" "$work/di/cloudbr"
if [ -n "$target" ]; then
    mount -t overlay overlay \
        -o "lowerdir=$target,upperdir=$work/target.upper,workdir=$work/target.work" "$work/di/target"
    mount -t tmpfs tmpfs "$work/di/run"
fi
set -- PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb
if [ -e "$work/io/env" ]; then
    while IFS= read -r assignment; do set -- "$@" "$assignment"; done < "$work/io/env"
fi
chroot "$work/di" /usr/bin/env -i "$@" debconf -f noninteractive /cloudbr/probe
if [ -n "$target" ] && [ -e "$work/io/units" ]; then
    # The installed system, as the installer left it: `systemctl --root` reads its units
    # (is-enabled of the units asked about: list-unit-files reads every unit, 0.75 s).
    while IFS= read -r unit; do
        state=$(systemctl --root="$work/di/target" is-enabled -- "$unit" 2>&1) || true
        printf '%s %s\n' "$unit" "$state"
    done < "$work/io/units" > "$work/io/enabled"
fi
"""


def entries(preseed: str, questions: Sequence[str]) -> str:
    """The preseed's entries for `questions`, verbatim with their continued lines. d-i's
    parser spends about 10 ms a line (forks of its busybox): a test about a few answers
    loads just those; the whole documents are loaded by tests/test_preseed.py."""
    kept: list[str] = []
    keep = False
    for line in preseed.split("\n"):
        words = line.split(maxsplit=2)
        starts = len(words) > 1 and not line[:1].isspace() and not line.startswith("#")
        keep = words[1] in questions if starts else keep and kept[-1].endswith("\\")
        if keep:
            kept.append(line)
    return "\n".join(kept) + "\n"


@dataclass(frozen=True)
class Installed:
    set_status: int  # debconf-set-selections' exit status
    answers: dict[str, str]  # question -> value as d-i read it
    late_status: int | None  # the late_command's exit status (None: not run)
    late_output: str
    target_changes: Path  # the target overlay's upper dir: what the install wrote
    unit_states: dict[str, str]  # unit asked about -> `systemctl is-enabled` in the target


def run_installer(
    preseed: str,
    questions: Sequence[str],
    work: Path,
    *,
    target_files: dict[str, bytes] | None = None,
    late: bool = False,
    env2debconf: dict[str, str] | None = None,
    beside: dict[str, bytes] | None = None,
    units: Sequence[str] = (),
) -> Installed:
    """Load `preseed` with d-i's parser, read `questions` back and, if `late`, run the
    late_command into a scratch overlay of the Debian root. `target_files` are placed in
    the target before the install (path -> content, mode 0755). `env2debconf`: boot
    parameters (name -> value, quotes already removed) imported first by d-i's env2debconf.
    `beside`: files (name -> content) next to the preseed, which the installer sees as
    /cloudbr/preseed.cfg (file:///cloudbr/preseed.cfg as preseed/file). `units`: units whose
    state in the installed system `systemctl --root` reports afterwards."""
    io = work / "io"
    for d in ("di", "di.upper", "di.work", "io", "target.upper", "target.work"):
        (work / d).mkdir(parents=True)
    (io / "preseed.cfg").write_text(preseed)
    for name, content in (beside or {}).items():
        (io / name).write_bytes(content)
    (io / "questions").write_text("".join(q + "\n" for q in questions))
    (io / "probe").write_text(PROBE)
    (io / "probe").chmod(0o755)
    if late:
        (io / "run-late").touch()
    if units:
        (io / "units").write_text("".join(u + "\n" for u in units))
    if env2debconf:
        (io / "env").write_text("".join(f"{k}={v}\n" for k, v in env2debconf.items()))
    for path, content in (target_files or {}).items():
        dest = work / "target.upper" / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(content)
        dest.chmod(0o755)
    target = str(debian_root()) if late else ""
    res = in_mount_namespace(NAMESPACE, str(work), str(installer_root()), target)
    assert res.returncode == 0, res.stdout + res.stderr
    answers = {
        q: (io / f"answer.{i}").read_text()
        for i, q in enumerate(questions, 1)
        if (io / f"answer.{i}").exists()
    }
    status = io / "late.status"
    return Installed(
        set_status=int((io / "set.status").read_text()),
        answers=answers,
        late_status=int(status.read_text()) if status.exists() else None,
        late_output=(io / "late.out").read_text() if (io / "late.out").exists() else "",
        target_changes=work / "target.upper",
        unit_states=_unit_states(io / "enabled"),
    )


def _unit_states(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    lines = path.read_text().splitlines()
    return {unit: state for unit, _, state in (line.partition(" ") for line in lines)}


# Runs on this machine, as root, in a new mount namespace: an overlay of the Debian root.
IN_ROOT = r"""set -eu
work=$1
mount -t overlay overlay -o "lowerdir=$2,upperdir=$work/root.upper,workdir=$work/root.work" \
    "$work/root"
mount -t tmpfs tmpfs "$work/root/run"
shift 2
chroot "$work/root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
"""


def run_in_debian_root(work: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """argv in a chroot of a scratch overlay of the Debian root (fresh /run)."""
    for d in ("root", "root.upper", "root.work"):
        (work / d).mkdir(parents=True)
    return in_mount_namespace(IN_ROOT, str(work), str(debian_root()), *argv)


def in_mount_namespace(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """sh -c script with args, in private mount and UTS namespaces: its mounts vanish with
    it, and the host keeps its hostname (d-i's scripts set one: the host's became "(none)",
    and sudo's complaint about it then broke diskimage-builder's loop-device setup)."""
    namespaces = ["unshare", "--mount", "--uts", "--propagation", "private"]
    return subprocess.run(
        [*namespaces, "sh", "-c", script, "sh", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )


if __name__ == "__main__":
    # `make unit` builds both cached roots first (once per machine: mmdebstrap downloads),
    # so the timed pytest run is the tests'.
    print(installer_root(), debian_root(), sep="\n")
