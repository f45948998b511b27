"""Command palette (ctrl+p): jump to any scale set, runner, pod or volume claim by name."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from arc_top.kube.model import PODS, RUNNERS, SCALE_SETS, VOLUMES, Snapshot
from arc_top.widgets.text import clean_line


@dataclass(frozen=True, slots=True)
class Target:
    label: str          # what is matched and shown: "runner team-a/arc-…-668fh"
    panel: str
    key: str
    help: str


def targets(snapshot: Snapshot | None) -> list[Target]:
    """Everything one can jump to, mapped to the panel and row key that shows it."""
    if snapshot is None:
        return []
    out: list[Target] = []
    for ss in snapshot.of(SCALE_SETS).values():
        out.append(Target(clean_line(f"scale set {ss.namespace}/{ss.name}"), "scalesets", ss.uid, "Scale sets"))
    runner_keys = {}
    for runner in snapshot.of(RUNNERS).values():
        runner_keys[(runner.namespace, runner.name)] = runner.uid
        out.append(Target(clean_line(f"runner {runner.namespace}/{runner.name}"), "runners", runner.uid, "Runners"))
    scale_sets = {(ss.namespace, ss.name): ss.uid for ss in snapshot.of(SCALE_SETS).values()}
    for pod in snapshot.of(PODS).values():
        if pod.role == "runner":
            key = runner_keys.get((pod.namespace, pod.name), pod.uid)
            out.append(Target(clean_line(f"pod {pod.namespace}/{pod.name}"), "runners", key, "Runners: runner pod"))
        elif pod.role == "workflow":
            out.append(Target(clean_line(f"pod {pod.namespace}/{pod.name}"), "runners", pod.uid,
                              "Runners: workflow pod"))
        elif pod.role == "listener":
            uid = scale_sets.get((pod.scale_set_namespace, pod.scale_set))
            if uid:
                out.append(Target(clean_line(f"pod {pod.namespace}/{pod.name}"), "scalesets", uid,
                                  "Scale sets: listener pod"))
    for volume in snapshot.of(VOLUMES).values():
        out.append(Target(clean_line(f"pvc {volume.namespace}/{volume.name}"), "volumes", volume.uid, "Volumes"))
    out.sort(key=lambda t: t.label)
    return out


class ObjectsProvider(Provider):
    """Yields cluster objects; the display is built as plain Content (never markup)."""

    async def startup(self) -> None:
        main = getattr(self.app, "main_screen", None)
        self._targets = targets(getattr(main, "snapshot", None))

    def _jump(self, target: Target) -> None:
        main = getattr(self.app, "main_screen", None)
        if main is not None:
            main.jump_to(target.panel, target.key)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for target in getattr(self, "_targets", []):
            score = matcher.match(target.label)
            if score > 0:
                _, offsets = matcher.fuzzy_search.match(query, target.label)
                display = Content(target.label)
                for offset in offsets:
                    display = display.stylize("bold underline", offset, offset + 1)
                yield Hit(score, display, partial(self._jump, target), text=target.label,
                          help=Content(target.help).markup)

    async def discover(self) -> Hits:
        for target in getattr(self, "_targets", [])[:200]:
            yield DiscoveryHit(Content(target.label), partial(self._jump, target), text=target.label,
                               help=Content(target.help).markup)
