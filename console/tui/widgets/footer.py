"""The footer, fitted to the terminal: at 80 columns it leaves out the keys least needed rather
than cutting the line off at the edge. The `?` help lists every key, shown here or not."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

GENERAL = frozenset({"ess.filter", "ess.command", "ess.pause"})
"""Keys of every screen: the first left out when the line is short of room."""


class FittingFooter(Footer):
    """Textual's footer, one key per action, the screen's own actions first, then `?`."""

    def on_resize(self) -> None:
        self.refresh(recompose=True)

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        active = self.screen.active_bindings
        keys: list[tuple[Binding, bool, str]] = []
        seen: set[str] = set()
        for _, binding, enabled, tooltip in active.values():
            if binding.show and binding.action not in seen:
                seen.add(binding.action)
                keys.append((binding, enabled, tooltip))
        palette = None
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            found = active.get(self.app.COMMAND_PALETTE_BINDING)
            if found is not None:
                palette = found[1:]
        room = self.app.size.width
        if palette is not None:
            room -= self._width(palette[0]) + 2  # docked right, behind a bar
        keep = set()
        for index in sorted(range(len(keys)), key=lambda i: (self._rank(keys[i][0]), i)):
            width = self._width(keys[index][0])
            if width <= room:
                keep.add(index)
                room -= width
        for index, (binding, enabled, tooltip) in enumerate(keys):
            if index in keep:
                yield FooterKey(
                    binding.key,
                    self.app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    disabled=not enabled,
                    tooltip=tooltip,
                ).data_bind(compact=Footer.compact)
        if palette is not None:
            binding, enabled, tooltip = palette
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=binding.tooltip or binding.description,
            )

    def _width(self, binding: Binding) -> int:
        """Cells a compact key takes: the key, a space, the label and a gap."""
        return len(self.app.get_key_display(binding)) + len(binding.description) + 2

    @staticmethod
    def _rank(binding: Binding) -> int:
        if binding.id == "ess.help":
            return 1
        if binding.id in GENERAL:
            return 2
        return 0 if binding.id and binding.id.startswith("ess.") else 3
