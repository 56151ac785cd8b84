"""A DataTable that keeps its rows, filters them by text and holds the cursor on the same row."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from rich.console import RenderableType
from rich.text import Text
from textual.widgets import DataTable

from engine.display import visible

MARK_STYLE = "bold #61afef"
MIN_COLUMN = 5  # a column is never narrowed below this many cells ("Anna…")


@dataclass(frozen=True)
class Row:
    key: str
    cells: tuple[RenderableType, ...]

    @property
    def haystack(self) -> str:
        return " ".join(c.plain if isinstance(c, Text) else str(c) for c in self.cells).lower()


class RowTable(DataTable[RenderableType]):
    """Rows are replaced wholesale on each refresh; the filter and the cursor survive it."""

    def __init__(
        self,
        columns: Sequence[str],
        *,
        empty: str = "nothing here",
        id: str,
        optional: Sequence[str] = (),
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.column_labels = tuple(columns)
        # columns left out, in this order, while the table is too narrow for all (80x24)
        self.optional = tuple(optional)
        self.visible_columns = tuple(range(len(self.column_labels)))
        self.empty = empty
        self.rows_all: list[Row] = []
        self.filter_text = ""
        self.total: int | None = None  # how many there are in all, when only a page is loaded
        self.drawn = False
        self.marked: set[str] = set()  # keys of rows marked with space (k9s), for bulk actions

    def on_mount(self) -> None:
        self.add_columns(*self.column_labels)

    @property
    def shown(self) -> list[Row]:
        needle = self.filter_text.lower().strip()
        if not needle:
            return self.rows_all
        return [r for r in self.rows_all if needle in r.haystack]

    def set_rows(self, rows: Iterable[Row], *, total: int | None = None) -> None:
        """Replace the rows; ``total`` says how many there are in all when these are a page."""
        fresh = list(rows)
        if self.drawn and fresh == self.rows_all and total == self.total:
            return  # nothing changed: no redraw, so the table does not flicker on a refresh
        keep = self.selected_key()
        self.rows_all = fresh
        self.total = total
        self.marked &= {r.key for r in fresh}  # a row gone (retried, skipped) is not marked
        self._redraw(keep)

    @property
    def cut(self) -> bool:
        """Whether more rows exist than are loaded."""
        return self.total is not None and self.total > len(self.rows_all)

    def count_label(self) -> str:
        """ "N" when every row is loaded, "N of M" when only a page is."""
        loaded = len(self.rows_all)
        return f"{loaded} of {self.total}" if self.cut else str(loaded)

    def _fit(
        self, grid: list[list[RenderableType]]
    ) -> tuple[list[Text], list[list[RenderableType]]]:
        """Narrow the widest columns until the table fits its width, each cut cell ending in
        "…": at 80 columns nothing is cut off silently at the edge."""
        all_labels = [Text(label) for label in self.column_labels]
        room = self.scrollable_content_region.width - 1
        if room <= 0 or not all_labels:
            return all_labels, grid
        natural = [label.cell_len for label in all_labels]
        for cells in grid:
            for i, c in enumerate(cells[: len(natural)]):
                if isinstance(c, Text):
                    natural[i] = max(natural[i], c.cell_len)
        keep = list(range(len(all_labels)))

        def needed() -> int:
            return sum(natural[i] + 2 * self.cell_padding for i in keep)

        for name in self.optional:  # leave out what matters least before cutting anything
            if needed() <= room:
                break
            if name in self.column_labels:
                keep.remove(self.column_labels.index(name))
        self.visible_columns = tuple(keep)
        labels = [all_labels[i] for i in keep]
        grid = [[cells[i] for i in keep if i < len(cells)] for cells in grid]
        widths = [natural[i] for i in keep]
        excess = needed() - room
        if excess <= 0:
            return labels, grid
        caps = list(widths)
        while excess > 0:
            widest = max(range(len(caps)), key=lambda k: caps[k])
            if caps[widest] <= MIN_COLUMN:
                break
            caps[widest] -= 1
            excess -= 1

        def cut(value: RenderableType, cap: int) -> RenderableType:
            if isinstance(value, Text) and value.cell_len > cap:
                value = value.copy()
                value.truncate(cap, overflow="ellipsis")
            return value

        labels = [cast(Text, cut(label, cap)) for label, cap in zip(labels, caps, strict=True)]
        fitted = [
            [cut(c, caps[i]) if i < len(caps) else c for i, c in enumerate(cells)] for cells in grid
        ]
        return labels, fitted

    # ----- marks (space, as in k9s) -----
    def marked_keys(self) -> list[str]:
        """The marked rows' keys in the order shown (marks hidden by a filter count too)."""
        return [r.key for r in self.rows_all if r.key in self.marked]

    def toggle_mark(self) -> None:
        """Mark or unmark the selected row and move to the next, so space marks a run of rows."""
        key = self.selected_key()
        if key is None:
            return
        self.marked.symmetric_difference_update({key})
        self._redraw(key)
        if self.cursor_row < self.row_count - 1:
            self.move_cursor(row=self.cursor_row + 1, animate=False)

    def mark(self, keys: Iterable[str]) -> int:
        """Mark these rows (those loaded); returns how many are marked now."""
        present = {r.key for r in self.rows_all}
        self.marked |= set(keys) & present
        self._redraw(self.selected_key())
        return len(self.marked)

    def clear_marks(self) -> None:
        if self.marked:
            self.marked.clear()
            self._redraw(self.selected_key())

    def set_filter(self, text: str) -> None:
        keep = self.selected_key()
        self.filter_text = text
        self._redraw(keep)

    def selected_key(self) -> str | None:
        shown = self.shown
        if not shown or not self.row_count or self.cursor_row < 0 or self.cursor_row >= len(shown):
            return None
        return shown[self.cursor_row].key

    def on_resize(self) -> None:
        if self.drawn:
            self._redraw(self.selected_key())  # fit the columns to the new width

    def _redraw(self, keep: str | None) -> None:
        self.drawn = True
        self.clear()
        shown = self.shown
        grid: list[list[RenderableType]] = []
        for row in shown:
            # plain strings become Text, so brackets in names are shown and not read as markup;
            # control characters are written out here, so that the column is measured as shown
            cells: list[RenderableType] = [
                Text(visible(c, newlines=False)) if isinstance(c, str) else c for c in row.cells
            ]
            if self.marked:  # a column of marks, only while something is marked
                first = cells[0] if isinstance(cells[0], Text) else Text(str(cells[0]))
                mark = "● " if row.key in self.marked else "  "
                cells[0] = Text.assemble((mark, MARK_STYLE), first)
            grid.append(cells)
        before = self.visible_columns
        labels, fitted = self._fit(grid)
        if self.visible_columns != before or len(self.columns) != len(labels):
            self.clear(columns=True)
            self.add_columns(*(label.plain for label in labels))
        for column, label in zip(self.columns.values(), labels, strict=False):
            column.label = label
            column.content_width = label.cell_len  # clear() keeps the widest ever seen
        for row, cells in zip(shown, fitted, strict=True):
            self.add_row(*cells, key=row.key)
        if not shown:
            self.border_subtitle = (  # Text: what the operator typed is never markup
                Text(f"no rows match {self.filter_text!r}") if self.filter_text else self.empty
            )
        else:
            loaded = len(self.rows_all)
            more = "; + loads more" if self.cut else ""
            if self.filter_text:
                whole = f" ({self.total} in all)" if self.cut else ""
                self.border_subtitle = f"{len(shown)} of {loaded} loaded{whole}{more}"
            else:
                self.border_subtitle = f"{self.count_label()} rows{more}"
            if self.marked:
                self.border_subtitle = f"{len(self.marked)} marked · {self.border_subtitle}"
        if keep is not None:
            for index, row in enumerate(shown):
                if row.key == keep:
                    self.move_cursor(row=index, animate=False)
                    break
