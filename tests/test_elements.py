"""Unit-level checks of the diskimage-builder elements and of scripts/build-image.sh.

Nothing here builds an image: the slow, real builds are `make image` (docs/images.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from cloudbr import platform_files

ROOT = Path(__file__).resolve().parents[1]
ELEMENTS = ROOT / "elements"
BUILD_IMAGE = ROOT / "scripts" / "build-image.sh"
BACKENDS = ("cloudbr-linuxbridge", "cloudbr-ovs")
ELEMENT_NAMES = ("cloudbr-kvm-host", *BACKENDS)
# DIB runs the executables of these directories, in order, as build phases.
PHASES = (
    "root.d",
    "extra-data.d",
    "pre-install.d",
    "install.d",
    "post-install.d",
    "block-device.d",
    "finalise.d",
    "cleanup.d",
)
DIB_VAR = re.compile(r"\bDIB_[A-Z0-9_]+\b")
BOILERPLATE = [
    'if [ "${DIB_DEBUG_TRACE:-0}" -gt 0 ]; then',
    "set -x",
    "fi",
    "set -eu",
    "set -o pipefail",
]


def element_dirs() -> list[Path]:
    return sorted(p for p in ELEMENTS.iterdir() if p.is_dir())


def phase_scripts() -> list[Path]:
    return sorted(
        f
        for element in element_dirs()
        for phase in PHASES
        if (element / phase).is_dir()
        for f in (element / phase).iterdir()
        if f.is_file()
    )


def environment_files() -> list[Path]:
    return sorted(ELEMENTS.glob("*/environment.d/*"))


def all_shell_files() -> list[Path]:
    return [*phase_scripts(), *environment_files(), BUILD_IMAGE]


def code_lines(path: Path) -> list[str]:
    """The script's lines without the shebang, comments and blank lines, stripped."""
    return [
        s
        for s in (line.strip() for line in path.read_text().splitlines())
        if s and not s.startswith("#")
    ]


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


# --------------------------------------------------------------------------- structure


def test_the_three_elements_exist() -> None:
    assert [p.name for p in element_dirs()] == sorted(ELEMENT_NAMES)


@pytest.mark.parametrize("name", ELEMENT_NAMES)
def test_element_has_readme_and_sorted_deps(name: str) -> None:
    element = ELEMENTS / name
    assert (element / "README.rst").is_file()
    deps_file = element / "element-deps"
    if deps_file.exists():
        deps = [d for d in deps_file.read_text().split() if not d.startswith("#")]
        assert deps == sorted(deps), "dib-lint wants element-deps sorted"


def test_backends_provide_the_same_thing_and_share_the_base() -> None:
    provides = {
        name: (ELEMENTS / name / "element-provides").read_text().split() for name in BACKENDS
    }
    assert provides["cloudbr-linuxbridge"] == provides["cloudbr-ovs"] == ["cloudbr-network-backend"]
    for name in BACKENDS:
        assert "cloudbr-kvm-host" in (ELEMENTS / name / "element-deps").read_text().split()
    assert not (ELEMENTS / "cloudbr-kvm-host" / "element-provides").exists()


@pytest.mark.parametrize("script", phase_scripts(), ids=rel)
def test_phase_script_starts_with_dib_boilerplate_and_is_executable(script: Path) -> None:
    assert os.access(script, os.X_OK), f"{rel(script)} is not executable"
    assert script.read_text().splitlines()[0] == "#!/bin/bash"
    assert code_lines(script)[: len(BOILERPLATE)] == BOILERPLATE


@pytest.mark.parametrize("env_file", environment_files(), ids=rel)
def test_environment_files_only_export_defaults(env_file: Path) -> None:
    assert not os.access(env_file, os.X_OK), "DIB sources environment.d files; no +x"
    assert env_file.name.endswith(".bash")
    if rel(env_file) in platform_files.files():
        return  # the platform's facts, generated (tests/test_registry.py keeps it current)
    for line in code_lines(env_file):
        m = re.fullmatch(r"export (DIB_[A-Z0-9_]+)=\$\{(DIB_[A-Z0-9_]+):-[^}]*\}", line)
        assert m, f"{rel(env_file)}: not an `export DIB_X=${{DIB_X:-default}}` line: {line}"
        assert m.group(1) == m.group(2)


@pytest.mark.parametrize("name", ELEMENT_NAMES)
def test_readme_documents_every_dib_variable(name: str) -> None:
    element = ELEMENTS / name
    readme = (element / "README.rst").read_text()
    used: set[str] = set()
    for f in element.rglob("*"):
        if f.is_file() and "static" not in f.relative_to(element).parts and f.name != "README.rst":
            used |= set(DIB_VAR.findall(f.read_text()))
    assert used, "expected the element to use some DIB_ variables"
    missing = sorted(v for v in used if v not in readme)
    assert not missing, f"{name}/README.rst does not document {missing}"


@pytest.mark.parametrize("name", ELEMENT_NAMES)
def test_package_installs_are_all_mapped(name: str) -> None:
    element = ELEMENTS / name
    installs = yaml.safe_load((element / "package-installs.yaml").read_text())
    pkg_map = json.loads((element / "pkg-map").read_text())
    for package in installs:
        assert package in pkg_map["default"], f"{name}: {package} has no default pkg-map entry"
    for section in ("family", "distro"):
        for mapping in pkg_map.get(section, {}).values():
            assert set(mapping) <= set(installs), f"{name}: pkg-map maps unknown packages"
    releases = [m for by_release in pkg_map["release"].values() for m in by_release.values()]
    assert len(releases) == len(platform_files.element_platforms())
    for mapping in releases:
        assert set(mapping) == set(installs), f"{name}: a release maps other packages"


def test_ovs_disables_cloud_init_networking_and_linuxbridge_does_not() -> None:
    ovs_cfg = yaml.safe_load(
        (
            ELEMENTS / "cloudbr-ovs/static/etc/cloud/cloud.cfg.d/96_cloudbr_ovs_network.cfg"
        ).read_text()
    )
    assert ovs_cfg == {"network": {"config": "disabled"}}
    for f in (ELEMENTS / "cloudbr-kvm-host" / "static").rglob("*.cfg"):
        assert "network" not in (yaml.safe_load(f.read_text()) or {})
    datasource = yaml.safe_load(
        (
            ELEMENTS / "cloudbr-kvm-host/static/etc/cloud/cloud.cfg.d/95_cloudbr_datasource.cfg"
        ).read_text()
    )
    assert datasource == {"datasource_list": ["NoCloud", "None"]}


def test_no_dhcp_interfaces_from_dib() -> None:
    env = (ELEMENTS / "cloudbr-kvm-host/environment.d/10-cloudbr-kvm-host.bash").read_text()
    assert "DIB_APT_MINIMAL_CREATE_INTERFACES=${DIB_APT_MINIMAL_CREATE_INTERFACES:-0}" in env
    assert "DIB_APT_MINIMAL_CREATE_INTERFACES=0" in BUILD_IMAGE.read_text()


# --------------------------------------------------------------------------- shell


@pytest.mark.parametrize("script", all_shell_files(), ids=rel)
def test_bash_syntax(script: Path) -> None:
    subprocess.run(["bash", "-n", str(script)], check=True)


@pytest.mark.parametrize("script", all_shell_files(), ids=rel)
def test_shellcheck(script: Path) -> None:
    assert shutil.which("shellcheck"), "shellcheck missing: `make test` installs it"
    subprocess.run(["shellcheck", "--shell=bash", "--external-sources", str(script)], check=True)


# --------------------------------------------------------------------------- dib-lint


@pytest.fixture(scope="session")
def dib_venv() -> Path:
    """The pinned diskimage-builder venv (.venv-image), created by build-image.sh."""
    return _pinned_venv()


def test_dib_lint_passes(dib_venv: Path, tmp_path: Path) -> None:
    empty_lib = tmp_path / "lib"
    empty_lib.mkdir()
    env = {
        **os.environ,
        "PATH": f"{dib_venv / 'bin'}:{os.environ['PATH']}",
        "ELEMENTS_DIR": "elements",
        "LIB_DIR": str(empty_lib),
    }
    proc = subprocess.run(
        [str(dib_venv / "bin" / "dib-lint")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "PASS" in proc.stdout


@pytest.fixture(scope="session")
def dib_venv_centos7() -> Path:
    """diskimage-builder 3.33.0 (.venv-image-centos7), the last that builds CentOS 7."""
    return _pinned_venv("centos7")


def _pinned_venv(*distro: str) -> Path:
    # CI installs these from PyPI; failing to is a failure, never a silent skip.
    proc = subprocess.run(
        [str(BUILD_IMAGE), "--venv-only", *distro],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, "pinned diskimage-builder install failed:\n" + proc.stderr[-2000:]
    return Path(proc.stdout.strip().splitlines()[-1])


def _expand(dib_venv: Path, *elements: str) -> subprocess.CompletedProcess[str]:
    python = dib_venv / "bin" / "python"
    dib_elements = subprocess.run(
        [
            str(python),
            "-c",
            "import diskimage_builder, os; print(os.path.dirname(diskimage_builder.__file__))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    env = {**os.environ, "ELEMENTS_PATH": f"{ELEMENTS}:{dib_elements}/elements"}
    return subprocess.run(
        [str(python), "-m", "diskimage_builder.element_dependencies", *elements],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_dib_resolves_each_backend(dib_venv: Path, backend: str) -> None:
    proc = _expand(dib_venv, "debian-minimal", backend, "baremetal", "vm", "block-device-mbr")
    assert proc.returncode == 0, proc.stderr[-2000:]
    expanded = proc.stdout.split()
    assert {"cloudbr-kvm-host", backend, "openssh-server", "sysprep"} <= set(expanded)


@pytest.mark.parametrize("backend", BACKENDS)
def test_old_dib_resolves_centos7_with_each_backend(dib_venv_centos7: Path, backend: str) -> None:
    version = subprocess.run(
        [str(dib_venv_centos7 / "bin" / "disk-image-create"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert version == "3.33.0"
    proc = _expand(dib_venv_centos7, "centos", backend, "baremetal", "vm", "block-device-mbr")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert {"cloudbr-kvm-host", backend, "centos", "yum"} <= set(proc.stdout.split())


def test_dib_refuses_both_backends(dib_venv: Path) -> None:
    proc = _expand(dib_venv, "debian-minimal", *BACKENDS)
    assert proc.returncode != 0
    assert "cloudbr-network-backend" in proc.stderr


# --------------------------------------------------------------------------- build-image.sh


def run_build(*args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run the builder; returns the process and its combined output. The timeout only guards
    against a hang: "fails fast" is proven by the build stopping before any venv or DIB step
    (no timing here)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DIB_")}
    full_env.update(env)
    proc = subprocess.run(
        [str(BUILD_IMAGE), *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc, proc.stdout + proc.stderr


def assert_stopped_before_dib(output: str) -> None:
    # build-image.sh says "sources OK" once every probe passed, then creates the pinned venv
    # and says "building ..." before it starts DIB: none of that may have happened.
    assert "sources OK" not in output
    assert "(pinned diskimage-builder)" not in output
    assert "build-image: building " not in output


UNREACHABLE = "http://127.0.0.1:9"


def test_ubuntu1804_with_unreachable_mirror_fails_fast_naming_the_variable() -> None:
    proc, output = run_build("ubuntu1804", "ovs", DIB_DISTRIBUTION_MIRROR=f"{UNREACHABLE}/ubuntu")
    assert proc.returncode != 0
    assert_stopped_before_dib(output)
    assert "DIB_DISTRIBUTION_MIRROR" in proc.stderr
    assert f"{UNREACHABLE}/ubuntu" in proc.stderr


def test_centos7_with_unreachable_cloud_images_fails_fast_naming_the_variable() -> None:
    proc, output = run_build(
        "centos7",
        "linuxbridge",
        DIB_CLOUD_IMAGES=f"{UNREACHABLE}/centos/7/images",
        DIB_DISTRIBUTION_MIRROR=f"{UNREACHABLE}/centos",
    )
    assert proc.returncode != 0
    assert_stopped_before_dib(output)
    assert "DIB_CLOUD_IMAGES" in proc.stderr
    assert "DIB_LOCAL_IMAGE" in proc.stderr  # the alternative is named too
    assert "DIB_DISTRIBUTION_MIRROR" in proc.stderr


def test_centos7_with_missing_local_image_names_dib_local_image(tmp_path: Path) -> None:
    proc, output = run_build(
        "centos7",
        "ovs",
        DIB_LOCAL_IMAGE=str(tmp_path / "CentOS-7-x86_64-GenericCloud.qcow2"),
        DIB_DISTRIBUTION_MIRROR=f"{UNREACHABLE}/centos",
    )
    assert proc.returncode != 0
    assert_stopped_before_dib(output)
    assert "DIB_LOCAL_IMAGE=" in proc.stderr
    assert "DIB_CLOUDBR_OVS_CENTOS7_REPO" in proc.stderr


def test_debian12_with_unreachable_mirror_fails_fast() -> None:
    proc, output = run_build(
        "debian12",
        "linuxbridge",
        DIB_DISTRIBUTION_MIRROR=f"{UNREACHABLE}/debian",
        DIB_DEBIAN_SECURITY_MIRROR=f"{UNREACHABLE}/debian-security",
    )
    assert proc.returncode != 0
    assert_stopped_before_dib(output)
    assert "DIB_DISTRIBUTION_MIRROR" in proc.stderr
    assert "DIB_DEBIAN_SECURITY_MIRROR" in proc.stderr


def test_ubuntu1804_without_keyring_names_dib_apt_keyring(tmp_path: Path) -> None:
    mirror = tmp_path / "ubuntu"
    (mirror / "dists" / "bionic").mkdir(parents=True)
    (mirror / "dists" / "bionic" / "Release").write_text("Suite: bionic\n")
    proc, _ = run_build(
        "--check",
        "ubuntu1804",
        "linuxbridge",
        DIB_DISTRIBUTION_MIRROR=f"file://{mirror}",
        DIB_APT_KEYRING=str(tmp_path / "missing.gpg"),
    )
    assert proc.returncode != 0
    assert "DIB_APT_KEYRING" in proc.stderr


def test_check_accepts_local_sources(tmp_path: Path) -> None:
    mirror = tmp_path / "ubuntu"
    (mirror / "dists" / "bionic").mkdir(parents=True)
    (mirror / "dists" / "bionic" / "Release").write_text("Suite: bionic\n")
    keyring = tmp_path / "ubuntu-archive-keyring.gpg"
    keyring.write_bytes(b"\x99")
    proc, _ = run_build(
        "--check",
        "ubuntu1804",
        "ovs",
        DIB_DISTRIBUTION_MIRROR=f"file://{mirror}",
        DIB_APT_KEYRING=str(keyring),
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("fedora", "ovs"), {}, "unsupported DISTRO=fedora"),
        (("debian12", "bridge"), {}, "unsupported BACKEND=bridge"),
        (("debian12",), {}, "BACKEND is not set"),
        (("debian12", "ovs"), {"IMAGE_LAYOUT": "lvm"}, "unsupported IMAGE_LAYOUT=lvm"),
    ],
)
def test_bad_arguments_are_rejected(
    args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    proc, output = run_build(*args, **env)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert_stopped_before_dib(output)


@pytest.mark.parametrize("distro", ["el8", "el9"])
@pytest.mark.parametrize("backend", ["linuxbridge", "ovs"])
def test_el_without_a_mirror_fails_fast_naming_the_variables(distro: str, backend: str) -> None:
    proc, output = run_build(
        distro,
        backend,
        DIB_DISTRIBUTION_MIRROR=f"{UNREACHABLE}/rocky",
        DIB_CLOUD_IMAGES=f"{UNREACHABLE}/images",
        DIB_CLOUDBR_OVS_EL_REPO=f"{UNREACHABLE}/nfv",
    )
    assert proc.returncode == 2
    assert_stopped_before_dib(output)
    release = distro[2:]
    assert f"{UNREACHABLE}/rocky/{release}/BaseOS/x86_64/os/repodata/repomd.xml" in proc.stderr
    assert "Set DIB_DISTRIBUTION_MIRROR to a reachable EL" in proc.stderr
    assert f"DIB_CLOUD_IMAGES={UNREACHABLE}/images" in proc.stderr
    assert (f"DIB_CLOUDBR_OVS_EL_REPO={UNREACHABLE}/nfv" in proc.stderr) == (backend == "ovs")


def test_el_with_reachable_sources_stops_before_dib_saying_why(tmp_path: Path) -> None:
    """The elements cannot build EL yet: the builder says so instead of failing inside DIB."""
    for repo in ("BaseOS", "AppStream"):
        meta = tmp_path / "mirror/9" / repo / "x86_64/os/repodata/repomd.xml"
        meta.parent.mkdir(parents=True)
        meta.write_text("<repomd/>")
    image = tmp_path / "Rocky-9-GenericCloud.qcow2"
    image.write_bytes(b"")
    proc, output = run_build(
        "el9",
        "linuxbridge",
        DIB_DISTRIBUTION_MIRROR=str(tmp_path / "mirror"),
        DIB_LOCAL_IMAGE=str(image),
    )
    assert proc.returncode == 1
    assert "sources OK" in output
    assert "build-image: building " not in output
    assert "the cloudbr elements do not build EL9 yet" in proc.stderr
