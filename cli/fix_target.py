"""Which finding `arc-top fix` means: `--scale-set NAMESPACE/NAME` or `--target KIND/NAMESPACE/NAME`, matched against
the findings of a check run (live, or of saved files)."""

from __future__ import annotations

import argparse

KINDS = {
    "AutoscalingRunnerSet": ("ars", "autoscalingrunnerset", "autoscalingrunnersets",
                             "autoscalingrunnersets.actions.github.com"),
    "EphemeralRunner": ("er", "ephemeralrunner", "ephemeralrunners", "ephemeralrunners.actions.github.com"),
    "Pod": ("po", "pod", "pods"),
    "Secret": ("secret", "secrets"),
    "Namespace": ("ns", "namespace", "namespaces"),
}


def parse_target(text: str) -> tuple[str, str, str] | str:
    """`KIND/NAMESPACE/NAME` → (Kind, namespace, name); `namespace/NAME` and `namespace//NAME` → ("Namespace", "",
    NAME). A one-line problem otherwise."""
    parts = text.split("/")
    kind = next((k for k, names in KINDS.items() if parts[0].lower() in names), None)
    if kind is None:
        return (f"--target {text}: unknown kind {parts[0]!r}; use ars, er, pod, secret or namespace "
                "(KIND/NAMESPACE/NAME)")
    if kind == "Namespace":
        if len(parts) == 2 and parts[1]:
            return kind, "", parts[1]
        if len(parts) == 3 and not parts[1] and parts[2]:
            return kind, "", parts[2]
        return f"--target {text}: a namespace is namespace/NAME"
    if len(parts) != 3 or not parts[1] or not parts[2]:
        return f"--target {text}: give KIND/NAMESPACE/NAME, e.g. {parts[0]}/arc-runners/NAME"
    return kind, parts[1], parts[2]


def finding_matches(args: argparse.Namespace, f) -> bool:
    if f.code != args.code:
        return False
    if args.scale_set:
        return f.scale_set == args.scale_set
    kind, ns, name = args.subject
    s = f.subject
    return s.kind == kind and s.name == name and (s.namespace == ns or kind == "Namespace")


def where_text(args: argparse.Namespace) -> str:
    if args.scale_set:
        return args.scale_set
    kind, ns, name = args.subject
    return f"{kind} {ns}/{name}" if ns else f"{kind} {name}"


def codes_near(args: argparse.Namespace, findings) -> list[str]:
    """The codes found where the user pointed (the scale set, or the object and its scale set)."""
    if args.scale_set:
        near = [f for f in findings if f.scale_set == args.scale_set]
    else:
        kind, ns, name = args.subject
        near = [f for f in findings if f.subject.name == name and f.subject.kind == kind]
    return sorted({f.code for f in near})
