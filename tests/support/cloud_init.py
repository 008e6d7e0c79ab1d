"""cloud-init's own boot path for a seed, run under /usr/bin/python3 (where Debian's
cloud-init imports): DataSourceNoCloud reads the extracted seed directory,
stages.Init._find_networking_config picks the network configuration (given some system
config), network_state.parse_net_config_data parses it and the distro's renderer writes its
files; user-data's write_files is replayed into a scratch root and the hostname that
cc_set_hostname would write is asked from util.get_hostname_fqdn and the distro.

`CLOUDBR_CLOUD_INIT_TREES` (os.pathsep-separated) names extra cloud-init source trees to run
the same path with (e.g. `git archive 19.4 cloudinit` of canonical/cloud-init): each result
then says which version produced it. Without it only the installed cloud-init runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.support import preloaded

SYSTEM_PYTHON = "/usr/bin/python3"

READER = r"""
import hashlib, inspect, json, os, sys, tempfile
from cloudinit import cloud, distros, helpers, stages, util, version
from cloudinit.config import cc_write_files
from cloudinit.net import eni, netplan, network_state, sysconfig
from cloudinit.sources import DataSourceNoCloud

RENDERERS = {"sysconfig": sysconfig.Renderer, "netplan": netplan.Renderer, "eni": eni.Renderer}


def render(cfg, kind, distro):
    # What the distro's apply_network_config does with what _find_networking_config chose,
    # with the distro's own renderer settings (file layout), into a scratch target.
    target = tempfile.mkdtemp()
    config = dict(getattr(distro, "renderer_configs", {}).get(kind, {}), postcmds=False)
    # Some renderers os.path.join(target, path): an absolute path would escape the target.
    for key, value in list(config.items()):
        if key.endswith("_path") and isinstance(value, str):
            config[key] = value.lstrip("/")
    try:
        state = network_state.parse_net_config_data(cfg)
        if state is None:
            return {"error": "no network state"}
        RENDERERS[kind](config).render_network_state(state, target=target)
    except Exception as exc:
        return {"error": "%s: %s" % (type(exc).__name__, exc)}
    files = {}
    for top, _, names in os.walk(target):
        for name in names:
            path = os.path.join(top, name)
            with open(path) as fh:
                files[path[len(target):]] = fh.read()
    return {"files": files}


out = []
for case in json.load(open(sys.argv[1])):
    root = tempfile.mkdtemp()
    os.makedirs(root + "/cloud/seed")
    os.makedirs(root + "/run")
    os.symlink(case["seed"], root + "/cloud/seed/nocloud")
    sys_cfg = {
        "datasource": {"NoCloud": {"fs_label": None}},
        "system_info": {"paths": {"cloud_dir": root + "/cloud", "run_dir": root + "/run"}},
    }
    paths = helpers.Paths(sys_cfg["system_info"]["paths"])
    ds = DataSourceNoCloud.DataSourceNoCloud(sys_cfg, None, paths)
    found = ds.get_data()
    distro = distros.fetch(case["distro"])(case["distro"], {}, paths)
    networks = []
    for extra in case["system_cfgs"]:
        init = stages.Init(ds_deps=[])
        init._cfg = util.mergemanydict([extra, sys_cfg])
        init.datasource = ds
        cfg, source = init._find_networking_config()
        rendered = render(cfg, case["renderer"], distro) if cfg else None
        # 19.4 names sources by plain strings ("ds"), later versions by an enum (DS).
        networks.append([cfg, str(getattr(source, "name", source)).upper(), rendered])
    cloud_config = util.load_yaml(ds.userdata_raw)
    hostname, fqdn = util.get_hostname_fqdn(cloud_config, cloud.Cloud(ds, paths, {}, distro, None))[:2]
    written = {}
    files = [dict(f, path=case["write_root"] + f["path"]) for f in cloud_config.get("write_files", [])]
    owner = ["root:root"] if len(inspect.signature(cc_write_files.write_files).parameters) > 2 else []
    cc_write_files.write_files("write_files", files, *owner)
    for f in files:
        st = os.stat(f["path"])
        with open(f["path"], "rb") as fh:
            written[f["path"][len(case["write_root"]):]] = [hashlib.sha256(fh.read()).hexdigest(), st.st_mode & 0o7777]
    out.append({
        "version": version.version_string(),
        "found": bool(found),
        "seed": ds.seed,
        "instance_id": ds.get_instance_id(),
        "meta_data": ds.metadata,
        "user_data": ds.userdata_raw.decode(),
        "cloud_config": cloud_config,
        "network_config": ds.network_config,
        "networks": networks,
        "hostname_written": distro._select_hostname(hostname, fqdn),
        "written": written,
    })
json.dump(out, sys.stdout)
"""


def trees() -> list[str | None]:
    """None (the installed cloud-init) and every extra source tree."""
    extra = os.environ.get("CLOUDBR_CLOUD_INIT_TREES", "")
    return [None, *(t for t in extra.split(os.pathsep) if t)]


def read(cases: list[dict[str, Any]], tmp: Path, tree: str | None = None) -> list[dict[str, Any]]:
    spec = tmp / "cases.json"
    spec.write_text(json.dumps(cases))
    env = dict(os.environ, PYTHONPATH=tree) if tree else None
    # From the preloaded fork server (cloudinit imported once), unless a tree is on PYTHONPATH.
    res = preloaded.run([SYSTEM_PYTHON, "-c", READER, str(spec)], text=True, env=env)
    assert res.returncode == 0, res.stderr
    result: list[dict[str, Any]] = json.loads(res.stdout)
    return result
