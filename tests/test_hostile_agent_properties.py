"""The agent.properties merge helper, run for real (the generated script, under mawk — Debian's
and Ubuntu's awk — gawk — CentOS 7's — and busybox awk) against a scratch root holding a
package-like agent.properties with keystore.passphrase in it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from cloudbr.inventory import load_inventory
from cloudbr.render import common
from tests.conftest import EXAMPLES

# Written the way the package and cloudstack-setup-agent leave it, in every Java-properties
# separator form: "k=v", "k = v", "k: v", leading blanks, '!' comments, a continued value.
PACKAGE = """\
# Sample configuration file for CloudStack agent
! an old-style comment: private.network.device=old
resource=com.cloud.hypervisor.kvm.resource.LibvirtComputingResource
keystore.passphrase=Zm9vYmFyc2VjcmV0
private.network.device = cloudbr9
guest.network.device: cloudbr9
   public.network.device=cloudbr9
network.bridge.type native
host=192.168.100.10,\\
  192.168.100.11
local.storage.uuid=\\
  libvirt.vif.driver=not-a-key-but-a-continued-value
guid=2f0c0e52-0000-4000-8000-000000000001
"""

EXPECTED = """\
# Sample configuration file for CloudStack agent
! an old-style comment: private.network.device=old
resource=com.cloud.hypervisor.kvm.resource.LibvirtComputingResource
keystore.passphrase=Zm9vYmFyc2VjcmV0
private.network.device=cloudbr0
guest.network.device=cloudbr0
public.network.device=cloudbr1
network.bridge.type=native
host=192.168.100.10,\\
  192.168.100.11
local.storage.uuid=\\
  libvirt.vif.driver=not-a-key-but-a-continued-value
guid=2f0c0e52-0000-4000-8000-000000000001
libvirt.vif.driver=com.cloud.hypervisor.kvm.resource.BridgeVifDriver
"""

AWKS = {
    "mawk": ["mawk"],
    "gawk": ["gawk"],
    "busybox": ["busybox", "awk"],
}


def _scratch(root: Path, awk: str) -> Path:
    """Our files from the renderer under `root`, and a PATH whose `awk` is the one under test."""
    host = load_inventory(EXAMPLES / "seed-ubuntu1804-bridge.yaml").hosts[0]
    for path, f in common.render(host).items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.content)
        target.chmod(f.mode)
    shim = root.parent / f"bin-{awk}"
    shim.mkdir()
    argv = AWKS[awk]
    if shutil.which(argv[0]) is None:
        pytest.fail(f"{argv[0]} missing: run `make test` (scripts/apt-test.txt installs it)")
    (shim / "awk").write_text(f'#!/bin/sh\nexec {" ".join(argv)} "$@"\n')
    (shim / "awk").chmod(0o755)
    return shim


def _merge(root: Path, shim: Path) -> None:
    res = subprocess.run(
        ["sh", str(root / common.AGENT_MERGE.lstrip("/"))],
        env={"CLOUDBR_ROOT": str(root), "PATH": f"{shim}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""


@pytest.mark.parametrize("awk", sorted(AWKS))
def test_merge_matches_every_separator_and_keeps_mode_owner_and_secret(
    awk: str, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    shim = _scratch(root, awk)
    agent = root / "etc/cloudstack/agent/agent.properties"
    agent.parent.mkdir(parents=True)
    agent.write_text(PACKAGE)
    os.chmod(agent, 0o640)
    os.chown(agent, 0, 65534)  # root:nogroup, as a package would set root:cloud
    _merge(root, shim)
    assert agent.read_text() == EXPECTED
    st = agent.stat()
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o640, 0, 65534)
    _merge(root, shim)
    assert agent.read_text() == EXPECTED  # idempotent
    assert sorted(p.name for p in agent.parent.iterdir()) == ["agent.properties"]  # no temp left


@pytest.mark.parametrize("awk", sorted(AWKS))
def test_a_new_agent_properties_is_0600(awk: str, tmp_path: Path) -> None:
    root = tmp_path / "root"
    shim = _scratch(root, awk)
    os.umask(0o022)
    _merge(root, shim)
    agent = root / "etc/cloudstack/agent/agent.properties"
    assert agent.stat().st_mode & 0o7777 == 0o600
    assert agent.parent.stat().st_mode & 0o777 == 0o755
    assert agent.read_text().splitlines() == [
        "network.bridge.type=native",
        "libvirt.vif.driver=com.cloud.hypervisor.kvm.resource.BridgeVifDriver",
        "private.network.device=cloudbr0",
        "guest.network.device=cloudbr0",
        "public.network.device=cloudbr1",
    ]
