"""The deploy files agree with the code and with each other: ports, paths, probe endpoints,
the config file location and the commands they run. (No container engine or cluster runs
here; these are the mistakes that would only show on the user's machine.)"""

from __future__ import annotations

import configparser
import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from conftest import Engine

from router.cli import build_parser
from router.config import Settings
from router.configfile import load_settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
CONFIG_PATH = "/etc/lanerouter/config.toml"


def containerfile() -> dict[str, list[str]]:
    """Instructions of the Containerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Containerfile").read_text())
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            found.setdefault(keyword, []).append(rest.strip())
    return found


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))


def k8s(kind: str) -> dict[str, Any]:
    for path in (DEPLOY / "k8s").glob("*.yaml"):
        for document in yaml.safe_load_all(path.read_text()):
            if document and document.get("kind") == kind:
                return dict(document)
    raise AssertionError(f"no {kind} in deploy/k8s")


def volume_target(volume: str) -> str:
    """`source:target[:mode]`, where the source may be a `${VAR:-default}`."""
    return re.sub(r"^\$\{[^}]*\}", "source", volume).split(":")[1]


def test_image_runs_the_cli_on_the_mounted_config_as_non_root() -> None:
    image = containerfile()
    assert json.loads(image["ENTRYPOINT"][0]) == ["lanerouter"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["lanerouter"] == "router.cli:main"
    command = json.loads(image["CMD"][0])
    args = build_parser().parse_args(command)
    assert (args.command, str(args.config)) == ("serve", CONFIG_PATH)
    assert image["USER"] == ["10001"]
    assert "LANEROUTER_SERVER__HOST=0.0.0.0" in image["ENV"][0]
    assert "LANEROUTER_SERVER__PORT=8080" in image["ENV"][0] and image["EXPOSE"] == ["8080"]
    assert "/healthz" in image["HEALTHCHECK"][0]
    assert any(CONFIG_PATH in copy for copy in image["COPY"])


def test_compose_services_agree_with_image_and_prometheus() -> None:
    services = compose()["services"]
    assert {"lanerouter", "lanerouter-demo", "demo-traffic", "prometheus", "grafana"} <= set(
        services
    )
    assert services["lanerouter"]["profiles"] == ["engines"]
    assert services["lanerouter-demo"]["profiles"] == ["demo"]
    for name in ("lanerouter", "lanerouter-shared", "lanerouter-demo"):
        service = services[name]
        assert any(volume_target(v) == CONFIG_PATH for v in service["volumes"])
        assert "8080:8080" in service["ports"]
        assert service["build"]["dockerfile"] == "deploy/Containerfile"
        assert (DEPLOY / service["build"]["context"] / "deploy" / "Containerfile").exists()
    demo = build_parser().parse_args(services["lanerouter-demo"]["command"])
    assert demo.demo and str(demo.config) == CONFIG_PATH
    traffic = build_parser().parse_args(services["demo-traffic"]["command"])
    assert traffic.url == "http://lanerouter-demo:8080"
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = scrape["scrape_configs"][0]["static_configs"][0]["targets"]
    assert sorted(targets) == ["lanerouter-demo:8080", "lanerouter-shared:8080", "lanerouter:8080"]
    assert scrape["scrape_configs"][0]["metrics_path"] == "/metrics"


def test_compose_mounts_exist_and_grafana_finds_its_datasource() -> None:
    services = compose()["services"]
    for name in ("prometheus", "grafana"):
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), volume
    datasource = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"
    dashboard = json.loads((DEPLOY / "grafana" / "lanerouter.json").read_text())
    used = {
        target["datasource"]["uid"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    }
    assert used == {datasource["uid"]}
    provider = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/dashboards/lanerouter.yml").read_text()
    )["providers"][0]
    mounted = [v for v in services["grafana"]["volumes"] if "lanerouter.json" in v]
    assert mounted[0].split(":")[1].startswith(provider["options"]["path"] + "/")


def test_k8s_configmap_is_a_valid_config_and_agrees_with_the_deployment(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text(k8s("ConfigMap")["data"]["config.toml"])
    settings = load_settings(config_file)
    assert settings.server.host == "0.0.0.0"
    deployment = k8s("Deployment")
    pod = deployment["spec"]["template"]
    [container] = pod["spec"]["containers"]
    [port] = container["ports"]
    assert port["containerPort"] == settings.server.port
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(settings.server.port)
    assert pod["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
    args = build_parser().parse_args(container["args"])
    [mount] = container["volumeMounts"]
    assert str(args.config) == mount["mountPath"] + "/config.toml" == CONFIG_PATH
    assert pod["spec"]["volumes"][0]["configMap"]["name"] == k8s("ConfigMap")["metadata"]["name"]
    # Streams get the drain's whole grace period before the kubelet kills the pod.
    assert pod["spec"]["terminationGracePeriodSeconds"] > settings.server.shutdown_grace + 5
    assert pod["spec"]["securityContext"]["runAsUser"] == 10001
    service = k8s("Service")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]


def test_k8s_probes_hit_endpoints_that_answer(router_url: str, engines: dict[str, Engine]) -> None:
    [container] = k8s("Deployment")["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe"):
        path = container[probe]["httpGet"]["path"]
        assert httpx.get(router_url + path).status_code == 200


def test_quadlet_mounts_the_config_and_waits_for_the_drain() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / "systemd" / "lanerouter.container")
    volume = unit["Container"]["Volume"]
    assert volume.split(":")[1] == CONFIG_PATH
    assert unit["Container"]["Image"] == compose()["services"]["lanerouter"]["image"]
    grace = load_settings(ROOT / "config.toml").server.shutdown_grace
    assert int(unit["Service"]["TimeoutStopSec"]) > grace
    assert "/healthz" in unit["Container"]["HealthCmd"]
    *_, signal, name = unit["Service"]["ExecReload"].split()  # a reload is SIGHUP to lanerouter
    assert (signal, name) == ("HUP", unit["Container"]["ContainerName"])


def test_dashboard_and_alerts_only_name_metrics_lanerouter_exports(router_url: str) -> None:
    # Families by their `# TYPE` lines: labelled counters have no samples until first counted.
    exported = {
        family(line.split()[2])
        for line in httpx.get(router_url + "/metrics").text.splitlines()
        if line.startswith("# TYPE lanerouter_")
    }
    texts = [
        (DEPLOY / "grafana" / "lanerouter.json").read_text(),
        (DEPLOY / "prometheus" / "alerts.yml").read_text(),
    ]
    named = {m for text in texts for m in re.findall(r"\blanerouter_[a-z_]+", text)}
    families = {family(name) for name in named}
    assert len(families) >= 15, families
    assert families <= exported, families - exported


def family(name: str) -> str:
    return re.sub(r"_(total|bucket|sum|count)$", "", name)


def environment_settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings lanerouter would start with, given these environment variables."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings(None)


def test_compose_redis_profile_shares_admission_between_two_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services = compose()["services"]
    shared, redis = services["lanerouter-shared"], services["redis"]
    assert shared["profiles"] == redis["profiles"] == ["redis"]
    assert shared["depends_on"] == ["redis"]
    args = build_parser().parse_args(shared["command"])
    assert args.workers == 2 and str(args.config) == CONFIG_PATH
    admission = environment_settings(shared["environment"], monkeypatch).admission
    assert admission.backend == "redis"
    assert urlsplit(admission.redis_url).hostname == "redis"


def test_k8s_redis_overlay_runs_two_replicas_on_one_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    overlay = DEPLOY / "k8s" / "overlays" / "redis"
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    assert (overlay / kustomization["resources"][0] / "kustomization.yaml").exists()
    documents = [d for r in kustomization["resources"][1:]
                 for d in yaml.safe_load_all((overlay / r).read_text())]  # fmt: skip
    service = next(d for d in documents if d["kind"] == "Service")
    [patch] = [yaml.safe_load((overlay / p["path"]).read_text()) for p in kustomization["patches"]]
    assert patch["metadata"]["name"] == k8s("Deployment")["metadata"]["name"]
    assert patch["spec"]["replicas"] == 2
    [container] = patch["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    admission = environment_settings(env, monkeypatch).admission
    assert admission.backend == "redis"
    url = urlsplit(admission.redis_url)
    assert url.hostname == service["metadata"]["name"]
    assert url.port == service["spec"]["ports"][0]["port"]


def test_readme_compose_commands_name_real_profiles() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = [line for line in readme.splitlines() if "compose.yaml" in line and "up" in line]
    assert commands, "README shows no compose command"
    services = compose()["services"]
    profiles = {p for s in services.values() for p in s.get("profiles", [])}
    for line in commands:
        words = shlex.split(line.split("#")[0])
        if "--profile" in words:
            assert words[words.index("--profile") + 1] in profiles, line


def readme_block_after(marker: str, language: str) -> str:
    readme = (ROOT / "README.md").read_text()
    rest = readme[readme.index(marker) :]
    start = rest.index(f"```{language}\n") + len(language) + 4
    return rest[start : rest.index("```", start)]


def test_editor_snippets_in_the_readme_parse_and_name_real_lanes(router_url: str) -> None:
    models = {m["id"] for m in httpx.get(router_url + "/v1/models").json()["data"]}
    base = "http://127.0.0.1:8080/v1"
    continue_config = yaml.safe_load(readme_block_after("**Continue**", "yaml"))
    for model in continue_config["models"]:
        assert model["model"] in models and model["apiBase"] == base
    headers = continue_config["models"][1]["requestOptions"]["headers"]
    assert headers["X-Lane"] in models
    opencode = json.loads(readme_block_after("**opencode**", "json"))["provider"]["lanerouter"]
    assert opencode["options"]["baseURL"] == base and set(opencode["models"]) <= models
    zed = json.loads(readme_block_after("**Zed**", "json"))["language_models"]
    provider = zed["openai_compatible"]["lanerouter"]
    assert provider["api_url"] == base
    assert {m["name"] for m in provider["available_models"]} <= models
    claude = readme_block_after("**Claude Code**", "bash")
    assert "ANTHROPIC_BASE_URL=http://127.0.0.1:8080 " in claude
    codex = tomllib.loads(readme_block_after("**Codex CLI**", "toml"))
    assert codex["model"] in models
    assert codex["model_providers"][codex["model_provider"]]["base_url"] == base
