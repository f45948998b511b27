"""The confirmation before a fix is applied: the object, every write, the context and the API server, the change,
the dry-run verdict and the warning, if any. Cancel has the focus: `enter` right away cancels; `y` applies, `n` or
`esc` cancels. Dismissed with True (apply) or False."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from arc_top.tui.screens.fix_text import confirm_renderable
from arc_top.widgets.text import DEFAULT_PALETTE, Palette


class ConfirmFixScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Apply", id="arc-top.confirm.yes", tooltip="In the confirmation: apply the fix"),
        Binding("n", "answer(False)", "Cancel", id="arc-top.confirm.no", tooltip="In the confirmation: cancel"),
        Binding("escape", "answer(False)", "Cancel", show=False, id="arc-top.confirm.cancel",
                tooltip="In the confirmation: cancel"),
        Binding("left,right", "switch", "Switch", show=False, id="arc-top.confirm.switch",
                tooltip="In the confirmation: move between Cancel and Apply"),
    ]

    def __init__(self, preview, palette: Palette = DEFAULT_PALETTE) -> None:
        super().__init__()
        self.preview = preview
        self.palette = palette

    def compose(self) -> ComposeResult:
        undo = bool(self.preview.undo_of)
        warning = bool(self.preview.variant.warning)
        with Vertical(id="confirm-dialog") as box:
            box.border_title = "Undo this fix?" if undo else "Apply this fix?"
            box.border_subtitle = f"y {'undo' if undo else 'apply'} · n / esc cancel"
            with VerticalScroll(id="confirm-scroll"):
                yield Static(confirm_renderable(self.preview, self.palette), id="confirm-text")
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel (n)", id="confirm-cancel", variant="primary", compact=True)
                yield Button(("Undo anyway (y)" if undo else "Apply anyway (y)") if warning else
                             ("Undo (y)" if undo else "Apply (y)"),
                             id="confirm-apply", variant="warning" if warning else "error", compact=True)

    def on_mount(self) -> None:
        self.query_one("#confirm-cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-apply")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def action_switch(self) -> None:
        cancel, apply = self.query_one("#confirm-cancel", Button), self.query_one("#confirm-apply", Button)
        (apply if cancel.has_focus else cancel).focus()
