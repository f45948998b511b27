"""`i`: a finding in full — what it is about, the evidence (field values, events, log lines; the checks mask
secrets), the cause in plain words, the fix and a docs link. On a row of another panel it lists the findings of
that row's object and its children, worst first. Every cluster string is shown literally (safe_text)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.rule import Rule
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from arc_top.tui.findings import severity_text, worst_first
from arc_top.widgets.text import DEFAULT_PALETTE, Palette, clean_line, safe_text

HEADING = Style(bold=True, underline=True)
LABEL = Style(dim=True)
INDENT = (0, 0, 0, 2)


def _subject(subject) -> str:
    where = f"{subject.namespace}/{subject.name}" if subject.namespace else subject.name
    return f"{subject.kind} {where}"


def _section(title: str, body: RenderableType) -> list[RenderableType]:
    return [Text(""), Text(title, HEADING), Padding(body, INDENT)]


def finding_renderable(findings: Sequence, palette: Palette = DEFAULT_PALETTE) -> Group:
    """The findings given, worst first, one block each. Cluster strings are `safe_text` (literal, no escapes);
    long values wrap in their own column."""
    parts: list[RenderableType] = []
    for i, f in enumerate(worst_first(findings)):
        if i:
            parts += [Text(""), Rule(style=LABEL), Text("")]
        head = severity_text(f.severity, palette)
        head.append(f"  {clean_line(f.code)}  ", Style(bold=True))
        head.append_text(safe_text(f.title, Style(bold=True)))
        head.end = "\n"
        parts += [head, Text("")]
        about = Table.grid(padding=(0, 2))
        about.add_column(style=LABEL, no_wrap=True)
        about.add_column()
        about.add_row("subject", safe_text(_subject(f.subject)))
        about.add_row("scale set", safe_text(f.scale_set or "—"))
        for related in f.related:
            about.add_row("related", safe_text(_subject(related)))
        parts.append(about)
        evidence = Table.grid(padding=(0, 1))
        evidence.add_column(style=LABEL, no_wrap=True)
        evidence.add_column()
        for line in f.evidence:
            evidence.add_row("›", safe_text(line))
        parts += _section("Evidence", evidence if f.evidence else Text("(none recorded)", LABEL))
        parts += _section("Why", safe_text(f.explanation or "—"))
        parts += _section("Fix", safe_text(f.fix or "—"))
        if f.docs:
            docs = clean_line(f.docs)
            link = Style(underline=True, link=docs) if docs.startswith("https://") else Style()
            parts += _section("Docs", Text(docs, link))
    return Group(*parts)


class FindingScreen(ModalScreen[None]):
    """The findings of one row (or one finding), over the main screen; esc closes."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="finding.close", tooltip="Close the finding"),
        Binding("i", "dismiss", "Close", show=False, id="finding.close-i", tooltip="Close the finding"),
        Binding("q", "dismiss", "Close", show=False, id="finding.close-q", tooltip="Close the finding"),
    ]

    def __init__(self, findings: Sequence, title: str, palette: Palette = DEFAULT_PALETTE) -> None:
        super().__init__()
        self.findings = tuple(findings)
        self.heading = clean_line(title)
        self.palette = palette

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="finding-body") as body:
            body.border_title = Text(f"{self.heading}  (esc closes)", end="")
            yield Static(finding_renderable(self.findings, self.palette), id="finding-text")

    def on_mount(self) -> None:
        self.query_one("#finding-body").focus()

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(result)
