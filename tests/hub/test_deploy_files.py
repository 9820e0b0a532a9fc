"""deploy/helm/values.yaml cannot run here: it parses and does what the tested config does."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

from asyncdb_lab.settings import REPO

HELM_VALUES = REPO / "deploy" / "helm" / "values.yaml"
HUB_CONFIG = REPO / "deploy" / "jupyterhub" / "jupyterhub_config.py"
IMAGE_COURSE = "/course"  # where deploy/compose/lab.Dockerfile puts the course


def _values() -> dict:
    return yaml.safe_load(HELM_VALUES.read_text())


def _config_services() -> dict[str, list[str]]:
    """The hub services of the single-host config: name -> command, as text after the binary."""
    tree = ast.parse(HUB_CONFIG.read_text())
    constants = {
        node.targets[0].id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant)
    }
    services: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = [key.value for key in node.keys if isinstance(key, ast.Constant)]
            if "name" in keys and "command" in keys:
                name = node.values[keys.index("name")]
                command = node.values[keys.index("command")]
                assert isinstance(name, ast.Constant) and isinstance(command, ast.List)
                services[name.value] = [
                    str(part.value)
                    if isinstance(part, ast.Constant)
                    else str(constants.get(_argument_name(part), "?"))
                    for part in [
                        part for part in command.elts if not isinstance(part, ast.Starred)
                    ][1:]
                ]
    return services


def _argument_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Name):
        return node.args[0].id
    return ""


def test_the_helm_hooks_are_the_configs_and_compile():
    extra = _values()["hub"]["extraConfig"]["asyncdb-lab"]
    compile(extra, "extraConfig", "exec")
    config = HUB_CONFIG.read_text()
    for setting in ("pre_spawn_hook = provision_learner", "post_stop_hook = drop_learner"):
        assert f"c.Spawner.{setting}" in config
        assert f"c.KubeSpawner.{setting}" in extra
    for call in ("SHARED_CLASS.learner", "SHARED_CLASS.drop", "SHARED_CLASS.setup()"):
        assert call in config and call in extra
    assert "allow_named_servers = False" in config and "allow_named_servers = False" in extra


def test_the_sweeper_and_the_culler_run_in_both():
    values = _values()
    services = _config_services()
    helm_sweeper = values["hub"]["services"]["asyncdb-lab-sweeper"]["command"]
    assert helm_sweeper[1:] == services["asyncdb-lab-sweeper"]
    assert helm_sweeper[1:] == ["provision", "sweep", "--hub", "--every", "300"]
    assert values["hub"]["loadRoles"]["asyncdb-lab-sweeper"]["scopes"] == [
        "list:users",
        "read:users:name",
        "read:servers",
    ]
    assert '"scopes": ["list:users", "read:users:name", "read:servers"]' in HUB_CONFIG.read_text()
    assert values["cull"]["enabled"] is True
    assert values["cull"]["timeout"] == 3600
    assert services["idle-culler"][:2] == ["-m", "jupyterhub_idle_culler"]
    assert '"ASYNCDB_LAB_IDLE_TIMEOUT", "3600"' in HUB_CONFIG.read_text()


def test_the_learners_environment_is_make_labs():
    env = _values()["singleuser"]["extraEnv"]
    assert env["ASYNCDB_LAB_BACKEND"] == "url"
    for variable, folder in (("JUPYTER_CONFIG_PATH", "lab_config"), ("JUPYTER_PATH", "lab_data")):
        path = Path(env[variable].replace(IMAGE_COURSE, str(REPO), 1))
        assert path.is_dir() and path.name == folder, env[variable]
        assert f"LAB_{folder.split('_')[1].upper()}" in re.findall(
            r"LAB_\w+", HUB_CONFIG.read_text()
        )
    home = _values()["singleuser"]["storage"]["homeMountPath"]
    assert env["ASYNCDB_LAB_WORKSPACE"] == f"{home}/workspace"
    command = " ".join(_values()["singleuser"]["cmd"])
    assert 'asyncdb-lab workspace --workspace "$ASYNCDB_LAB_WORKSPACE"' in command
    assert "jupyterhub-singleuser" in command and "terminado_settings" in command
