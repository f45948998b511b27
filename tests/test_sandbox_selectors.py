"""Label and field selectors: syntax, matching semantics and the API server's error wording."""

from __future__ import annotations

import pytest

from arc_top.sandbox.errors import ApiError
from arc_top.sandbox.resources import lookup
from arc_top.sandbox.selectors import parse_field_selector, parse_label_selector, selector_from_label_selector_object

PODS = lookup("pods")
EVENTS = lookup("events")


def labels_matching(text: str, *candidates: dict | None) -> list[bool]:
    sel = parse_label_selector(text)
    return [sel.matches(c) for c in candidates]


def test_empty_label_selector_matches_everything():
    assert labels_matching("", {}, None, {"a": "b"}) == [True, True, True]
    assert labels_matching("   ", {"x": "y"}) == [True]


@pytest.mark.parametrize("text", ["app=runner", "app==runner", " app = runner "])
def test_equality(text):
    assert labels_matching(text, {"app": "runner"}, {"app": "listener"}, {}) == [True, False, False]


def test_not_equal_matches_objects_without_the_label():
    got = labels_matching("app!=runner", {"app": "runner"}, {"app": "x"}, {}, None)
    assert got == [False, True, True, True]


def test_set_based_requirements():
    assert labels_matching("tier in (a, b)", {"tier": "a"}, {"tier": "c"}, {}) == [True, False, False]
    assert labels_matching("tier notin (a,b)", {"tier": "a"}, {"tier": "c"}, {}) == [False, True, True]
    assert labels_matching("tier", {"tier": ""}, {}) == [True, False]
    assert labels_matching("!tier", {"tier": ""}, {}) == [False, True]


def test_numeric_comparisons():
    got = labels_matching("gen>3", {"gen": "4"}, {"gen": "3"}, {"gen": "x"}, {})
    assert got == [True, False, False, False]
    assert labels_matching("gen<3", {"gen": "2"}, {"gen": "3"}) == [True, False]


def test_requirements_are_anded_and_keywords_can_be_keys():
    text = "app=runner, !deleted ,tier in (x,y),in=notin"
    good = {"app": "runner", "tier": "y", "in": "notin"}
    got = labels_matching(text, good, {**good, "deleted": "1"}, {**good, "tier": "z"})
    assert got == [True, False, False]


def test_empty_values_and_prefixed_keys():
    assert labels_matching("a=", {"a": ""}, {"a": "x"}) == [True, False]
    assert labels_matching("a in ()", {"a": ""}, {"a": "x"}) == [True, False]
    sel = "actions.github.com/scale-set-name=arc"
    assert labels_matching(sel, {"actions.github.com/scale-set-name": "arc"}) == [True]


@pytest.mark.parametrize("text, message", [
    ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
    ("a=b c", "found 'c', expected: ',' or 'end of string'"),
    ("a=b,", "found '', expected: identifier after ','"),
    (",a", "found ',', expected: !, identifier, or 'end of string'"),
    ("a in x", "unable to parse requirement: found 'x', expected: '('"),
    ("a in (x y)", "unable to parse requirement: found 'y', expected: ',' or ')'"),
    ("a=(", "unable to parse requirement: found '(', expected: identifier"),
])
def test_bad_label_syntax_is_a_400_with_server_wording(text, message):
    with pytest.raises(ApiError) as err:
        parse_label_selector(text)
    assert (err.value.code, err.value.reason, err.value.message) == (400, "BadRequest", message)


def test_invalid_label_key_and_value_are_rejected():
    with pytest.raises(ApiError, match=r'^unable to parse requirement: key: Invalid value: "-x"'):
        parse_label_selector("-x=1")
    with pytest.raises(ApiError, match=r'values\[0\]\[a\]: Invalid value: "b@c"'):
        parse_label_selector("a=b@c")
    with pytest.raises(ApiError, match="must be an integer"):
        parse_label_selector("a>b")


def test_label_selector_object():
    sel = selector_from_label_selector_object({
        "matchLabels": {"app": "runner"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]},
                             {"key": "gone", "operator": "DoesNotExist"}]})
    assert sel.matches({"app": "runner", "tier": "a"})
    assert not sel.matches({"app": "runner", "tier": "a", "gone": "1"})
    assert not sel.matches({"app": "runner"})
    assert selector_from_label_selector_object({}).matches({"any": "thing"})
    assert selector_from_label_selector_object({}).matches(None)


@pytest.mark.parametrize("bad", [
    None, "app=x", [], {"matchLabels": ["a"]}, {"matchLabels": {"a": 1}},
    {"matchExpressions": [{"key": "a", "operator": "Bogus"}]},
    {"matchExpressions": [{"key": "a", "operator": "In"}]},
    {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
    {"matchExpressions": "nope"},
])
def test_missing_or_malformed_selector_object_matches_nothing(bad):
    assert not selector_from_label_selector_object(bad).matches({"a": "x"})
    assert not selector_from_label_selector_object(bad).matches({})


def pod(name, node=None, phase="Running", ns="arc-runners"):
    spec = {"nodeName": node} if node else {}
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec, "status": {"phase": phase}}


def test_field_selector_on_pods_with_missing_values_as_empty():
    sel = parse_field_selector("spec.nodeName=,status.phase!=Failed", PODS)
    assert [sel.matches(p) for p in (pod("a"), pod("b", node="n1"), pod("c", phase="Failed"))] == [
        True, False, False]
    assert parse_field_selector("spec.nodeName==n1", PODS).matches(pod("b", node="n1"))
    assert parse_field_selector("", PODS).matches(pod("x"))


def test_field_selector_term_order_does_not_matter_for_describe_events():
    event = {"metadata": {"name": "e1", "namespace": "arc-runners"}, "type": "Warning", "reason": "Failed",
             "involvedObject": {"kind": "Pod", "name": "r1", "namespace": "arc-runners", "uid": "u1"},
             "source": {"component": "kubelet"}, "reportingController": "kubelet"}
    terms = ["involvedObject.name=r1", "involvedObject.namespace=arc-runners", "involvedObject.uid=u1"]
    for text in (",".join(terms), ",".join(reversed(terms))):
        assert parse_field_selector(text, EVENTS).matches(event)
    assert not parse_field_selector("involvedObject.uid=u2," + terms[0], EVENTS).matches(event)
    more = "source=kubelet,reportingComponent=kubelet,type=Warning,reason=Failed,involvedObject.kind=Pod"
    assert parse_field_selector(more, EVENTS).matches(event)
    assert not parse_field_selector("source=scheduler", EVENTS).matches(event)


def test_kind_specific_fields():
    node = {"metadata": {"name": "n1"}, "spec": {}}
    assert parse_field_selector("spec.unschedulable=false", lookup("nodes")).matches(node)
    assert not parse_field_selector("spec.unschedulable=true", lookup("nodes")).matches(node)
    secret = {"metadata": {"name": "s"}, "type": "kubernetes.io/dockerconfigjson"}
    assert parse_field_selector("type=kubernetes.io/dockerconfigjson", lookup("secrets")).matches(secret)
    ns = {"metadata": {"name": "arc"}, "status": {"phase": "Terminating"}}
    assert parse_field_selector("status.phase=Terminating", lookup("namespaces")).matches(ns)


def test_escaped_comma_in_value():
    sel = parse_field_selector(r"metadata.name=a\,b", PODS)
    assert sel.matches(pod("a,b")) and not sel.matches(pod("a"))


@pytest.mark.parametrize("text, resource, message", [
    ("spec.foo=x", "pods", "field label not supported: spec.foo"),
    ("spec.nodeName=x", "persistentvolumeclaims", "field label not supported: spec.nodeName"),
    ("status.phase=Running", "autoscalingrunnersets",
     '"status.phase" is not a known field selector: only "metadata.name", "metadata.namespace"'),
    ("phase", "pods", "invalid selector: 'phase'; can't understand 'phase'"),
    ("metadata.name=a=b", "pods", "invalid field selector: unescaped character in value: 61"),
])
def test_field_selector_errors_are_400(text, resource, message):
    with pytest.raises(ApiError) as err:
        parse_field_selector(text, lookup(resource))
    assert (err.value.code, err.value.reason, err.value.message) == (400, "BadRequest", message)


def test_metadata_fields_work_for_custom_resources():
    ars = lookup("autoscalingrunnersets")
    obj = {"metadata": {"name": "arc", "namespace": "arc-systems"}}
    assert parse_field_selector("metadata.name=arc,metadata.namespace=arc-systems", ars).matches(obj)


def test_many_objects_filter_correctly():
    pods = [{"metadata": {"name": f"p{i}", "namespace": "arc-runners",
                          "labels": {"app": "runner" if i % 2 else "listener", "shard": str(i % 5)}},
             "spec": {"nodeName": f"n{i % 3}"} if i % 7 else {}, "status": {"phase": "Running"}}
            for i in range(5000)]
    lsel = parse_label_selector("app=runner,shard in (1,2),!missing")
    fsel = parse_field_selector("status.phase=Running,spec.nodeName!=n1", PODS)
    got = [p["metadata"]["name"] for p in pods if lsel.matches(p["metadata"]["labels"]) and fsel.matches(p)]
    want = [f"p{i}" for i in range(5000)
            if i % 2 and i % 5 in (1, 2) and not (i % 7 and i % 3 == 1)]
    assert got == want and len(want) > 500
