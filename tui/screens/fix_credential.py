"""Asking for a rotated credential (ARC104–ARC107): the new token, or a GitHub App's id, installation id and private
key file. The token field never shows what is typed (•••), nothing is kept in any history, and the values leave this
screen only as a `checks.fixplan.Pasted` (which never shows them either). Nothing is written here: the fix screen
probes the credential with GitHub first, and writes it only after its preview and confirmation.

`enter` on the last field submits, `tab` moves between fields, `esc` cancels. Dismissed with a Pasted, or None."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from arc_top.checks.fixplan import Pasted
from arc_top.checks.remedy_credentials import TOKEN_KEY

MAX_KEY_BYTES = 64 * 1024
LABELS = {TOKEN_KEY: "new GitHub token (not shown)", "github_app_id": "GitHub App id",
          "github_app_installation_id": "installation id", "github_app_private_key": "private key file (.pem)"}


def read_private_key(path: str) -> str:
    """The PEM text of `path`; ValueError (one line) when it is not one."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read(MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if len(text) > MAX_KEY_BYTES or "PRIVATE KEY-----" not in text:
        raise ValueError(f"{path}: not a PEM private key")
    return text.strip() + "\n"


class CredentialScreen(ModalScreen["Pasted | None"]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="arc-top.credential.cancel",
                tooltip="In the credential dialog: cancel (nothing is kept)"),
    ]

    def __init__(self, fields: tuple[str, ...], where: str) -> None:
        super().__init__()
        self.fields = tuple(fields) if fields else (TOKEN_KEY,)
        self.where = where

    def compose(self) -> ComposeResult:
        with Vertical(id="credential-dialog") as box:
            box.border_title = "New credential"
            box.border_subtitle = "enter: check it with GitHub · tab: next field · esc: cancel"
            yield Static(f"for {self.where}: checked with GitHub before anything is written", id="credential-where",
                         markup=False)
            for key in self.fields:
                yield Static(LABELS.get(key, key), classes="credential-label", markup=False)
                yield Input(id=f"credential-{key}", password=key == TOKEN_KEY, compact=True,
                            placeholder="ghp_… / github_pat_…" if key == TOKEN_KEY else "")
            yield Static("", id="credential-problem", markup=False)

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input).results(Input))
        if event.input is not inputs[-1] and not all(i.value.strip() for i in inputs):
            inputs[inputs.index(event.input) + 1].focus()
            return
        values = {key: self.query_one(f"#credential-{key}", Input).value.strip() for key in self.fields}
        problem = ""
        if any(not v for v in values.values()):
            problem = "every field is needed"
        elif "github_app_private_key" in values:
            try:
                values["github_app_private_key"] = read_private_key(values["github_app_private_key"])
            except ValueError as exc:
                problem = str(exc)
        if problem:
            self.query_one("#credential-problem", Static).update(f"✖ {problem}")
            return
        self._clear()
        self.dismiss(Pasted(values))

    def action_cancel(self) -> None:
        self._clear()
        self.dismiss(None)

    def _clear(self) -> None:
        for field in self.query(Input).results(Input):
            field.value = ""

