"""KeysFooter recomposes only when the keys it would show change (Textual's Footer did at every focus change)."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.binding import Binding
from textual.widgets import Static

from arc_top.widgets.footer import KeysFooter

pytestmark = pytest.mark.asyncio


class Pane(Static, can_focus=True):
    BINDINGS = [Binding("l", "logs", "Logs")]


class Other(Static, can_focus=True):
    BINDINGS = [Binding("y", "yaml", "YAML")]


class FooterApp(App):
    def compose(self):
        yield Pane("a", id="a")
        yield Pane("b", id="b")
        yield Other("c", id="c")
        yield KeysFooter()


async def test_focus_between_panes_with_the_same_keys_does_not_recompose():
    app = FooterApp()
    async with app.run_test(size=(60, 10)) as pilot:
        footer = app.query_one(KeysFooter)
        app.set_focus(app.query_one("#a"))
        await pilot.pause()
        recomposes = []
        original = footer.recompose

        async def counting():
            recomposes.append(1)
            return await original()
        footer.recompose = counting
        app.set_focus(app.query_one("#b"))               # same keys: nothing to redo
        await pilot.pause()
        assert recomposes == []
        app.set_focus(app.query_one("#c"))               # other keys: the footer follows
        await pilot.pause()
        await pilot.pause()
        assert recomposes and "YAML" in " ".join(str(w.render()) for w in footer.query("FooterKey"))
