"""Reading a folder of SS 12000 JSON pages: what the sample generator writes, or a dump a
customer sends, so a support engineer can reproduce a customer's data offline.

Each entity is ``DIR/<entity>.json`` or ``DIR/<entity>/*.json`` (pages, read in name order);
each file is a page ``{"data": [...]}`` or a bare list of objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from adapters.ss12000.pages import decode_page
from adapters.ss12000.vocabulary import ENTITIES
from engine.source import SourceError

REQUIRED = ("organisations", "persons", "groups")


def entity_files(root: Path, entity: str) -> list[Path]:
    single = root / f"{entity}.json"
    pages = root / entity
    files = [single] if single.is_file() else []
    if pages.is_dir():
        files += sorted(p for p in pages.iterdir() if p.suffix == ".json" and p.is_file())
    return files


def check_folder(root: Path) -> None:
    """A missing folder or a missing required entity is a :class:`SourceError` naming it."""
    if not root.is_dir():
        raise SourceError(f"{root}: not a folder of SS 12000 JSON pages")
    missing = [e for e in REQUIRED if not entity_files(root, e)]
    if missing:
        raise SourceError(
            f"{root}: no pages for {', '.join(missing)} "
            f"(expected <entity>.json or <entity>/*.json for {', '.join(ENTITIES)})"
        )


def entity_pages(root: Path, entity: str) -> Iterator[tuple[str, list[Any]]]:
    """(where, records) for every page of one entity; an unreadable page is a
    :class:`SourceError` naming the file."""
    for path in entity_files(root, entity):
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise SourceError(f"{path}: cannot be read ({exc.strerror})") from None
        page = decode_page(body, str(path), entity=entity)
        del body  # the page's records are all that is kept
        yield path.name, page.records
