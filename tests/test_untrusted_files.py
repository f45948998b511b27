"""`arc-top check --from` on hostile files: whatever a file holds, one line on stderr naming it and exit 2, in
bounded time and memory; never a traceback. The files are made here, in tmp_path.

Most cases run in-process (cli.main.main); the bombs also run as a real process whose address space is capped
(RLIMIT_AS), so that a loader that expanded them would fail the test instead of swapping the machine."""

from __future__ import annotations

import codecs
import json
import os
import subprocess
import sys
import threading

import pytest
import yaml

import arc_top.kube.offline as offline
import arc_top.kube.untrusted as untrusted
from arc_top.cli.main import main
from tests.test_kube_offline import controller_pod, runner_pod

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MiB = 1024 * 1024
MEMORY_CAP = 512 * MiB           # address space of the capped process: a sane ceiling for 64 MiB of input
POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: arc-runners\n"


def check_from(capsys, *paths: str) -> tuple[int, str, str]:
    code = main(["check", "--from", *paths])
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(capsys, path, *needles: str) -> str:
    """Exit 2, nothing on stdout, one line on stderr naming the file (and the needles), no traceback."""
    code, out, err = check_from(capsys, str(path))
    assert code == 2, (code, err)
    assert out == "" and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("arc-top: "), err
    for needle in (str(path), *needles):
        assert needle in err, (needle, err)
    return err


def run_capped(*args: str, stdin=None, input: bytes | None = None) -> subprocess.CompletedProcess:
    """arc-top as a real process whose address space cannot pass MEMORY_CAP."""
    import resource

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    return subprocess.run([sys.executable, "-m", "arc_top.cli.main", *args], capture_output=True, timeout=110, cwd=ROOT,
                          preexec_fn=cap, stdin=stdin, input=input)


def assert_capped_refused(proc: subprocess.CompletedProcess, *needles: str) -> None:
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, (proc.returncode, err[-2000:])
    assert proc.stdout == b"" and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("arc-top: "), err
    for needle in needles:
        assert needle in err, (needle, err)


def billion_laughs() -> str:
    lines = ['apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: lol, namespace: arc-runners}', 'data:',
             '  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"  {name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    return "\n".join(lines) + "\n"


# ---- aliases, nesting -----------------------------------------------------------------------------------------
def test_a_billion_laughs_is_refused_at_the_first_alias(tmp_path, capsys):
    path = tmp_path / "lol.yaml"
    path.write_text(billion_laughs())
    err = assert_refused(capsys, path, "YAML aliases (*a) are not accepted: kubectl never writes them")
    assert err == f"arc-top: {path}: YAML aliases (*a) are not accepted: kubectl never writes them\n"
    assert_capped_refused(run_capped("check", "--from", str(path)), str(path), "YAML aliases (*a)")


def test_an_alias_anywhere_is_refused_even_a_harmless_one(tmp_path, capsys):
    path = tmp_path / "alias.yaml"
    path.write_text(POD + "  labels: &l {app: x}\n  annotations: *l\n")
    assert_refused(capsys, path, "YAML aliases (*l)")
    merge = tmp_path / "merge.yaml"
    merge.write_text(POD + "  labels:\n    <<: {app: x}\n")
    assert_refused(capsys, merge, "merge keys (<<) are not accepted")
    anchor_only = tmp_path / "anchor.yaml"        # an anchor without an alias expands nothing: accepted
    anchor_only.write_text(POD.replace("name: p", "name: &n p"))
    assert check_from(capsys, str(anchor_only))[0] in (0, 1)


def test_ten_thousand_nested_lists_are_refused_json_and_yaml(tmp_path, capsys):
    deep_json = tmp_path / "deep.json"
    deep_json.write_text("[" * 10_000 + "]" * 10_000)
    assert_refused(capsys, deep_json, "document 1 nests deeper than 64 levels")
    deep_yaml = tmp_path / "deep.yaml"
    deep_yaml.write_text("apiVersion: v1\nkind: Pod\nmetadata: " + "[" * 10_000 + "]" * 10_000 + "\n")
    assert_refused(capsys, deep_yaml, "document 1 nests deeper than 64 levels")
    nested_maps = tmp_path / "maps.yaml"
    nested_maps.write_text("---\n" + POD + "---\nx: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n")
    assert_refused(capsys, nested_maps, "document 2 nests deeper than 64 levels")
    assert_capped_refused(run_capped("check", "--from", str(deep_json)), "nests deeper than 64 levels")


def test_json_deeper_than_the_limit_but_not_than_python_is_refused(tmp_path, capsys):
    path = tmp_path / "deep65.json"
    path.write_text(json.dumps({"kind": "Pod", "apiVersion": "v1", "spec": json.loads("[" * 70 + "]" * 70)}))
    assert_refused(capsys, path, "nests deeper than 64 levels")
    ok = tmp_path / "deep60.json"           # 60 levels is within the limit: accepted
    ok.write_text(json.dumps({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p"},
                              "spec": json.loads("[" * 55 + "]" * 55)}))
    assert check_from(capsys, str(ok))[0] in (0, 1)


# ---- size -----------------------------------------------------------------------------------------------------
def test_a_70_mib_file_is_refused_without_being_read(tmp_path, capsys):
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as f:
        f.write(POD.encode())
        f.truncate(70 * MiB)                     # sparse: no disk, and arc-top must not read it
    assert_refused(capsys, path, "is larger than 64 MiB (70 MiB)", "several files")
    assert_capped_refused(run_capped("check", "--from", str(path)), "is larger than 64 MiB (70 MiB)")


def test_a_70_mib_pipe_is_read_only_up_to_the_limit(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "arc_top.cli.main", "check", "--from", "-"], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    chunk = (POD * 1000).encode()
    sent = [0]

    def feed() -> None:
        try:
            while sent[0] < 70 * MiB:
                proc.stdin.write(chunk)
                sent[0] += len(chunk)
            proc.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass                                 # arc-top stopped reading: what is wanted

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    err = proc.stderr.read()                    # (communicate() would close stdin under the writer)
    out = proc.stdout.read()
    proc.wait(110)
    writer.join(10)
    text = err.decode()
    assert proc.returncode == 2 and out == b"" and text.count("\n") == 1 and "Traceback" not in text, text
    assert "standard input is larger than 64 MiB" in text


def test_stdin_is_never_read_past_the_limit(monkeypatch, capsys):
    class Endless:
        asked = 0

        def read(self, n: int = -1) -> bytes:
            assert n >= 0, "read everything"
            Endless.asked += n
            return b"#" * n

    monkeypatch.setattr(offline, "MAX_FILE_BYTES", 4096)
    monkeypatch.setattr("sys.stdin", type("Stdin", (), {"buffer": Endless()})())
    code, out, err = check_from(capsys, "-")
    assert code == 2 and err.count("\n") == 1 and "standard input is larger than 4096 bytes" in err
    assert Endless.asked == 4097


def test_the_files_together_are_capped(tmp_path, monkeypatch, capsys):
    paths = []
    for n in range(3):
        path = tmp_path / f"part{n}.yaml"
        path.write_text(yaml.safe_dump(runner_pod(f"set-abcde-runner-{n}")))
        paths.append(str(path))
    size = os.path.getsize(paths[0])
    monkeypatch.setattr(offline, "MAX_TOTAL_BYTES", int(size * 2.5))
    code, out, err = check_from(capsys, *paths)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert paths[2] in err and "the files together are larger than" in err


def test_many_values_at_once_are_refused_json_and_yaml(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(untrusted, "MAX_VALUES", 1000)
    flat = tmp_path / "flat.yaml"
    flat.write_text(POD + "data: [" + ", ".join(["x"] * 2000) + "]\n")
    assert_refused(capsys, flat, "document 1 of", "more than 1,000 values")
    flat_json = tmp_path / "flat.json"
    flat_json.write_text(json.dumps({"kind": "Pod", "apiVersion": "v1", "data": [{}] * 2000}))
    assert_refused(capsys, flat_json, "more than 1,000 values")
    monkeypatch.setattr(untrusted, "MAX_FILE_VALUES", 5000)      # in all, over the documents of one file
    stream = tmp_path / "stream.yaml"
    stream.write_text(("---\n" + POD + "data: [" + ", ".join(["x"] * 900) + "]\n") * 10)
    assert_refused(capsys, stream, "holds more than 5,000 values")


def test_a_long_list_is_handed_out_item_by_item_within_the_value_limit(tmp_path, monkeypatch, capsys):
    """1,500 pods of ~25 values each: far more than 1,000 values in all, but never held at once."""
    monkeypatch.setattr(untrusted, "MAX_VALUES", 1000)
    pods = [runner_pod(f"set-abcde-runner-{n}") for n in range(1500)]
    path = tmp_path / "list.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "items": [controller_pod(), *pods], "kind": "List",
                                    "metadata": {"resourceVersion": ""}}))
    snap = offline.load_files([str(path)]).snapshot
    assert len(snap.of("pods")) == 1501


def test_too_many_objects_are_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(offline, "MAX_OBJECTS", 10)
    path = tmp_path / "many.yaml"
    path.write_text(yaml.safe_dump_all([runner_pod(f"set-abcde-runner-{n}") | {"metadata": {
        **runner_pod()["metadata"], "name": f"r{n}", "uid": f"u{n}"}} for n in range(20)]))
    assert_refused(capsys, path, "more than 10 objects")


def test_a_yaml_stream_of_many_documents(tmp_path, capsys):
    ok = tmp_path / "stream.yaml"           # 3,000 documents: fine
    ok.write_text(yaml.safe_dump_all([runner_pod(f"set-abcde-runner-{n}") | {"metadata": {
        **runner_pod()["metadata"], "name": f"r{n}", "uid": f"u{n}"}} for n in range(3000)]))
    assert len(offline.load_files([str(ok)]).snapshot.of("pods")) == 3000
    empty_docs = tmp_path / "docs.yaml"     # 100,001 empty documents: over the limit, refused early
    empty_docs.write_text("---\n" * 100_001)
    assert_refused(capsys, empty_docs, "more than 100,000 documents")
    many_json = tmp_path / "docs.json"
    many_json.write_text("{}\n" * 100_001)
    assert_refused(capsys, many_json, "more than 100,000 documents")


def test_a_long_number_is_refused_promptly(tmp_path, capsys):
    sexagesimal = tmp_path / "sexagesimal.yaml"        # YAML 1.1 base-60 int: quadratic big-int arithmetic
    sexagesimal.write_text(POD + "spec: {x: " + "1:" * 500_000 + "1}\n")
    assert_refused(capsys, sexagesimal, "a number of more than 1000 characters")
    digits = tmp_path / "digits.json"
    digits.write_text('{"kind": "Pod", "apiVersion": "v1", "x": ' + "9" * 100_000 + "}")
    assert_refused(capsys, digits)


# ---- encoding, binary, empty ----------------------------------------------------------------------------------
def test_every_byte_value_is_not_text(tmp_path, capsys):
    path = tmp_path / "bytes.yaml"
    path.write_bytes(bytes(range(256)))
    assert_refused(capsys, path, "is not UTF-8 text (byte 0x80 at offset 128)")
    urandom = tmp_path / "random.bin"
    urandom.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(4096))
    assert_refused(capsys, urandom, "not UTF-8 text")


def test_nul_bytes_mean_binary(tmp_path, capsys):
    path = tmp_path / "nul.yaml"
    path.write_bytes(POD.encode() + b"\x00\x00\x00")
    assert_refused(capsys, path, "is binary (it holds NUL bytes)")
    controls = tmp_path / "controls.yaml"         # valid UTF-8, but characters YAML does not allow
    controls.write_bytes(bytes(range(1, 32)) + bytes(range(32, 128)))
    assert_refused(capsys, controls, "is not valid YAML or JSON")


def test_latin1_text_names_the_byte(tmp_path, capsys):
    path = tmp_path / "latin1.yaml"
    path.write_bytes((POD + "  labels: {team: café}\n").encode("latin-1"))
    offset = (POD + "  labels: {team: caf").encode().__len__()
    assert_refused(capsys, path, f"is not UTF-8 text (byte 0xe9 at offset {offset})", "iconv")


@pytest.mark.parametrize("encoding, bom", [("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE),
                                           ("utf-16-be", codecs.BOM_UTF16_BE), ("utf-32-le", codecs.BOM_UTF32_LE)])
def test_a_byte_order_mark_and_utf16_are_accepted(tmp_path, encoding, bom):
    """What `kubectl get -o yaml > file` writes in Windows PowerShell 5 (UTF-16 with a BOM), and a UTF-8 BOM."""
    pods = [controller_pod(), runner_pod()]
    pods[1]["metadata"]["annotations"] = {"note": "café ✓ 🚀"}
    text = yaml.safe_dump_all(pods, allow_unicode=True)
    assert "🚀" in text
    path = tmp_path / f"saved-{encoding}.yaml"
    path.write_bytes(bom + text.encode(encoding))
    snap = offline.load_files([str(path)]).snapshot
    assert len(snap.of("pods")) == 2
    as_json = tmp_path / f"saved-{encoding}.json"
    as_json.write_bytes(bom + json.dumps(controller_pod()).encode(encoding))
    assert len(offline.load_files([str(as_json)]).snapshot.of("pods")) == 1


def test_a_broken_utf16_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "odd.yaml"
    path.write_bytes(codecs.BOM_UTF16_LE + "kind: Pod\n".encode("utf-16-le") + b"\x00")     # an odd byte out
    assert_refused(capsys, path, "UTF-16 byte-order mark but is not UTF-16 text")


@pytest.mark.parametrize("content", [b"", b"   \n\n", b"# only a comment\n", codecs.BOM_UTF8, b"\n---\n# c\n"])
def test_empty_files_are_one_line(tmp_path, capsys, content):
    path = tmp_path / "empty.yaml"
    path.write_bytes(content)
    if content == b"\n---\n# c\n":                  # one empty document: nothing in it, not an error
        assert check_from(capsys, str(path))[0] in (0, 1)
        return
    assert_refused(capsys, path, "is empty")


# ---- not Kubernetes objects -----------------------------------------------------------------------------------
def test_which_document_is_not_an_object_is_named(tmp_path, capsys):
    path = tmp_path / "mixed.yaml"
    path.write_text(POD + "---\n" + POD + "---\n- just\n- a list\n")
    assert_refused(capsys, path, "document 3 is not a Kubernetes object (list)")
    path.write_text(POD + "---\n42\n")
    assert_refused(capsys, path, "document 2 is not a Kubernetes object (int)")
    concatenated = tmp_path / "two.json"
    concatenated.write_text(json.dumps(runner_pod()) + "\n" + json.dumps(["x"]) + "\n")
    assert_refused(capsys, concatenated, "document 2 is not a Kubernetes object (list)")


def test_list_items_that_are_not_objects(tmp_path, capsys):
    kubectl_order = tmp_path / "list.yaml"            # kubectl writes kind after items: items are handed out first
    kubectl_order.write_text("apiVersion: v1\nitems:\n- " + json.dumps(runner_pod()) + "\n- 7\nkind: List\n")
    assert_refused(capsys, kubectl_order, "item 2 of document 1 is not a Kubernetes object (int)")
    kind_first = tmp_path / "list.json"
    kind_first.write_text(json.dumps({"kind": "List", "apiVersion": "v1", "items": [runner_pod(), "x"]}))
    assert_refused(capsys, kind_first, "item 2 of document 1 is not a Kubernetes object (str)")
    no_kind = tmp_path / "nokind.yaml"
    no_kind.write_text("apiVersion: v1\nitems:\n- metadata: {name: a}\nkind: List\n")
    assert_refused(capsys, no_kind, "item 1 of document 1 has no kind")


def test_tags_and_complex_keys_are_refused(tmp_path, capsys):
    for n, (body, needle) in enumerate([("x: !!python/object/apply:os.system [echo hi]\n", "python/object/apply"),
                                        ("x: !Ref other\n", "YAML tag !Ref"),
                                        ("x: !!set {a, b}\n", "YAML tag tag:yaml.org,2002:set"),
                                        ("? [a, b]\n: c\n", "a mapping key that is a list")]):
        path = tmp_path / f"tag{n}.yaml"
        path.write_text(POD + body)
        assert_refused(capsys, path, needle, "kubectl")


def test_several_bad_files_name_the_first(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(controller_pod()))
    bad = tmp_path / "bad.yaml"
    bad.write_text(billion_laughs())
    code, out, err = check_from(capsys, str(good), str(bad), str(tmp_path / "missing.yaml"))
    assert code == 2 and err.count("\n") == 1 and str(bad) in err and "missing" not in err


def test_a_big_kubectl_list_is_read_in_little_memory(tmp_path):
    """~20 MiB of `kubectl get pods -o yaml` (kind after the items, as kubectl writes it) in a process capped at
    512 MiB of address space: the items are projected one by one (building the whole tree took ~1.3 GB)."""
    pod = runner_pod("set-abcde-runner-NAME")
    pod["metadata"]["uid"] = "uid-NAME"
    pod["metadata"]["managedFields"] = [{"manager": "kubelet", "fieldsV1": {f"f:{c}": {"f:x": {}} for c in "abcdefgh"}}]
    pod["spec"]["containers"][0]["env"] = [{"name": f"ENV_{n}", "value": "v" * 40} for n in range(40)]
    item = "- " + yaml.safe_dump(pod, sort_keys=True).replace("\n", "\n  ").rstrip() + "\n"
    path = tmp_path / "pods.yaml"
    with open(path, "w") as f:
        f.write("apiVersion: v1\nitems:\n")
        f.write(yaml.safe_dump(controller_pod()).replace("\n", "\n  ").rstrip().join(["- ", "\n"]))
        n = 0
        while f.tell() < 20 * MiB:
            f.write("".join(item.replace("NAME", str(n + k)) for k in range(100)))
            n += 100
        f.write("kind: List\nmetadata:\n  resourceVersion: \"\"\n")
    proc = run_capped("check", "--from", str(path), "-o", "json", "--fail-on", "never")
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    report = json.loads(proc.stdout)
    assert report["source"]["mode"] == "files" and proc.stderr == b""
