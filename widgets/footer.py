"""A Footer that recomposes only when the keys it shows change.

Textual's Footer recomposes at every bindings update, and a focus change is one: moving between the panels with
`tab` or `1`-`5` re-laid out the screen and repainted all of it (60 ms at 200x60 with 5,000 runners), though the
keys shown stay the same. This one compares what it would show with what it shows.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer

from arc_top.widgets.textual_internals import footer_ready


class KeysFooter(Footer):
    _shown: tuple | None = None

    # Footer's reaction to a bindings update (textual_internals.HOOKS): if Textual stopped calling it, the footer
    # would recompose at every focus change again, as Textual's own does.
    def bindings_changed(self, screen: Screen) -> None:
        shown = _shown_keys(screen)
        if shown is not None and shown == self._shown and footer_ready(self):
            return
        self._shown = shown
        super().bindings_changed(screen)


def _shown_keys(screen: Screen) -> tuple | None:
    """What the footer would show: the shown bindings with their keys, labels and enabled state."""
    try:
        return tuple((key, binding.action, binding.description, binding.key_display, binding.group, enabled, tooltip)
                     for key, (_, binding, enabled, tooltip) in screen.active_bindings.items() if binding.show)
    except Exception:  # never worse than Textual's own footer: then it recomposes as it would
        return None
