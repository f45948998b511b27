"""kubeconfig resolution as kubectl does it, and every expected connection failure as one actionable line."""

from __future__ import annotations

import base64
import os
import stat
import sys

import pytest
import yaml

from arc_top.kube.config import ConnectError, check_reachable, connect
from arc_top.sandbox.rbac import UserInfo


def failure(fn, *args, **kwargs) -> str:
    with pytest.raises(ConnectError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert message and "\n" not in message and "Traceback" not in message
    return message


def write(path, config: dict) -> str:
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture()
def config(healthy) -> dict:
    return healthy.kubeconfig_dict()


def test_context_namespace_and_server_come_from_the_kubeconfig(healthy):
    conn = connect(healthy.kubeconfig_path)
    assert (conn.context, conn.server, conn.namespaces) == ("arc-sandbox", healthy.url, ("arc-runners",))
    assert conn.user == "arc-sandbox-admin" and not conn.all_namespaces
    check_reachable(conn)
    assert connect(healthy.kubeconfig_path, namespaces=["team-a", "team-b,team-a"]).namespaces == ("team-a", "team-b")
    assert connect(healthy.kubeconfig_path, namespaces=["team-a"], all_namespaces=True).namespaces == ()
    assert connect(healthy.kubeconfig_path, context="arc-sandbox-viewer").user == "arc-sandbox-viewer"
    assert "valid namespace" in failure(connect, healthy.kubeconfig_path, namespaces=["Bad_Name"])


def test_missing_unreadable_and_broken_kubeconfigs(tmp_path):
    assert failure(connect, str(tmp_path / "nope")) == \
        f"kubeconfig {tmp_path / 'nope'} does not exist: check the --kubeconfig path"
    assert "is a directory" in failure(connect, str(tmp_path))
    broken = tmp_path / "broken"
    broken.write_text("clusters: [\n  - name: x\n bad")
    assert "is not valid YAML or JSON at line" in failure(connect, str(broken))
    listy = tmp_path / "listy"
    listy.write_text("- 1\n- 2\n")
    assert "is not a kubeconfig" in failure(connect, str(listy))
    if os.geteuid() != 0:                       # root reads anything
        locked = tmp_path / "locked"
        locked.write_text("{}")
        locked.chmod(0)
        assert "cannot read kubeconfig" in failure(connect, str(locked))
        locked.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_no_kubeconfig_anywhere(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    message = failure(connect)
    assert message.startswith("no kubeconfig found (looked in ") and "arc-top demo" in message


def test_unknown_context_lists_the_contexts(healthy):
    assert failure(connect, healthy.kubeconfig_path, context="nope") == \
        f'context "nope" not found in {healthy.kubeconfig_path}; contexts: arc-sandbox, arc-sandbox-viewer'


def test_context_without_its_cluster(tmp_path, config):
    config["contexts"][0]["context"]["cluster"] = "gone"
    message = failure(connect, write(tmp_path / "c", config))
    assert 'refers to cluster "gone"' in message


def test_unreachable_server_is_one_line_and_fast(tmp_path, config, monkeypatch):
    """Fast: a refused connection is tried once, never retried blindly (we back off ourselves, and a dead server
    must fail at once), and the line says refused, so no timeout was waited for."""
    import urllib3.util.connection

    attempts = []
    create = urllib3.util.connection.create_connection

    def counting(address, *args, **kwargs):
        attempts.append(address)
        return create(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", counting)
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    conn = connect(write(tmp_path / "c", config))
    assert failure(check_reachable, conn) == \
        "cannot reach https://127.0.0.1:1 (connection refused): is the cluster up? try 'arc-top demo'"
    assert attempts == [("127.0.0.1", 1)]


def test_untrusted_certificate(tmp_path, config):
    del config["clusters"][0]["cluster"]["certificate-authority-data"]
    message = failure(check_reachable, connect(write(tmp_path / "c", config)))
    assert message.startswith("cannot verify the TLS certificate of https://127.0.0.1:")
    assert "certificate-authority" in message


def test_rejected_token_is_a_401_line(tmp_path, config):
    config["users"][0]["user"]["token"] = "not-a-valid-token"
    assert failure(check_reachable, connect(write(tmp_path / "c", config))) == \
        ('the server rejected the credentials of context "arc-sandbox" (401 Unauthorized): '
         "refresh your token or log in again")


def test_forbidden_namespace_is_a_403_line(healthy, tmp_path, config):
    healthy.cluster.tokens["nobody-token"] = UserInfo("nobody", ("system:authenticated",))
    config["users"][0]["user"]["token"] = "nobody-token"
    message = failure(check_reachable, connect(write(tmp_path / "c", config)))
    assert message.startswith('user "arc-sandbox-admin" of context "arc-sandbox" may not list pods in namespace '
                              '"arc-runners" (403 Forbidden): ask for read access')


def test_kubeconfig_variable_merges_files_first_one_wins(healthy, tmp_path, monkeypatch, config):
    ca = base64.b64decode(config["clusters"][0]["cluster"].pop("certificate-authority-data"))
    other = tmp_path / "other"
    other.mkdir()
    (other / "ca.crt").write_bytes(ca)
    first = {"apiVersion": "v1", "kind": "Config", "current-context": "first",
             "clusters": [{"name": "dead", "cluster": {"server": "https://127.0.0.1:1"}}],
             "contexts": [{"name": "first", "context": {"cluster": "dead", "user": "u", "namespace": "team-a"}}],
             "users": [{"name": "u", "user": {"token": "t"}}]}
    second = {"apiVersion": "v1", "kind": "Config", "current-context": "sandbox",
              "clusters": [{"name": "sb", "cluster": {"server": healthy.url, "certificate-authority": "ca.crt"}},
                           {"name": "dead", "cluster": {"server": "https://ignored.invalid"}}],
              "contexts": [{"name": "sandbox", "context": {"cluster": "sb", "user": "admin"}},
                           {"name": "first", "context": {"cluster": "sb", "user": "admin"}}],
              "users": [{"name": "admin", "user": {"token": healthy.token()}}]}
    paths = [write(tmp_path / "first", first), str(tmp_path / "missing"), write(other / "second", second)]
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(paths))
    conn = connect()
    assert (conn.context, conn.server, conn.namespaces) == ("first", "https://127.0.0.1:1", ("team-a",))
    assert conn.kubeconfig == os.pathsep.join([paths[0], paths[2]])
    conn = connect(context="sandbox")
    assert conn.server == healthy.url and conn.namespaces == ("default",)
    check_reachable(conn)             # the relative certificate-authority resolved next to the second file


def _use_plugin(config: dict, plugin) -> None:
    """The kubeconfig's user gets its credential from `plugin` (a Python script) as an exec plugin."""
    config["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                           "command": sys.executable, "args": [str(plugin)],
                                           "interactiveMode": "Never"}}


def test_exec_credential_plugin(healthy, tmp_path, config):
    plugin = tmp_path / "token-plugin.py"
    plugin.write_text(
        "import json, sys\n"
        "if len(sys.argv) > 1: sys.exit('login expired: run sso login')\n"
        f"print(json.dumps({{'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential', "
        f"'status': {{'token': '{healthy.token()}'}}}}))\n")
    _use_plugin(config, plugin)
    check_reachable(connect(write(tmp_path / "c", config)))
    config["users"][0]["user"]["exec"]["args"].append("--fail")
    message = failure(connect, write(tmp_path / "c2", config))
    assert message.startswith('the credential plugin of user "arc-sandbox-admin" failed: ') and "sso login" in message


def test_only_an_expiring_credential_is_loaded_again(healthy, tmp_path, config):
    # A static token: no hook runs before each request (it only set the same values again), and the token is sent.
    static = connect(write(tmp_path / "c", config))
    assert static.api_client.configuration.refresh_api_key_hook is None
    check_reachable(static)
    check_reachable(static)
    # An exec plugin whose token expires (within the client's five-minute margin): run again before a request.
    runs = tmp_path / "runs"
    plugin = tmp_path / "expiring-plugin.py"
    plugin.write_text(
        "import datetime, json\n"
        f"open({str(runs)!r}, 'a').write('run\\n')\n"
        "soon = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=60))\n"
        f"print(json.dumps({{'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential', "
        f"'status': {{'token': '{healthy.token()}', 'expirationTimestamp': soon.strftime('%Y-%m-%dT%H:%M:%SZ')}}}}))\n")
    _use_plugin(config, plugin)
    conn = connect(write(tmp_path / "c2", config))
    assert conn.api_client.configuration.refresh_api_key_hook is not None
    before = runs.read_text().count("run")
    check_reachable(conn)
    assert runs.read_text().count("run") > before


def test_in_cluster_config_when_there_is_no_kubeconfig(healthy, tmp_path, monkeypatch, config):
    import kubernetes.config.incluster_config as incluster

    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    (sa / "token").write_text(healthy.token("viewer"))
    (sa / "ca.crt").write_bytes(base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]))
    (sa / "namespace").write_text("team-a\n")
    monkeypatch.setattr("arc_top.kube.config.SA_DIR", str(sa))
    monkeypatch.setattr(incluster, "SERVICE_TOKEN_FILENAME", str(sa / "token"))
    monkeypatch.setattr(incluster, "SERVICE_CERT_FILENAME", str(sa / "ca.crt"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(healthy.server.port))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    conn = connect()
    assert (conn.context, conn.in_cluster, conn.namespaces) == ("in-cluster", True, ("team-a",))
    check_reachable(conn)
