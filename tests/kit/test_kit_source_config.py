"""The kit's source tables: an export's ``path`` and zip limit, one readable line per bad
key, and the frame of a source that reads an export whole each run."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import ClassVar

import pytest

from adapters.kit.export_source import ExportSource
from adapters.kit.source_config import ExportConfig, load_config
from engine.model import Snapshot
from engine.secrets import SecretResolver
from engine.source import SourceContext, SourceRead


class DemoConfig(ExportConfig):
    type: str = "demo"
    missing: ClassVar[str | None] = "the demo folder"


class DemoError(ValueError):
    pass


class DemoSource(ExportSource[DemoConfig]):
    config_model = DemoConfig
    config_error = DemoError

    def read_now(self, ctx: SourceContext) -> SourceRead:
        snapshot = Snapshot({}, {}, {}, (), (), ctx.today)
        return SourceRead(snapshot, (), "folder", {"read": 1})


def test_an_export_table_names_its_source_and_its_zip_limit() -> None:
    config = DemoConfig(path="export.zip", max_unpacked_mb=2)
    assert DemoConfig.source_name() == "demo"
    assert config.zip_limits().max_unpacked == 2 * 1024 * 1024
    assert config.resolved_path(Path("/base")) == Path("/base/export.zip")
    assert DemoConfig(path="/abs/x").resolved_path(Path("/base")) == Path("/abs/x")


def test_a_bad_table_is_one_line_per_key_in_the_sources_words() -> None:
    with pytest.raises(DemoError) as caught:
        load_config(DemoConfig, {"colour": "red"}, "demo", DemoError, DemoConfig.missing)
    assert str(caught.value) == (
        "demo source: path: is required: the demo folder; "
        "colour: unknown key (see docs/sources/demo.md)"
    )


def test_without_a_missing_text_pydantic_words_stand() -> None:
    with pytest.raises(DemoError, match="path: Field required"):
        load_config(DemoConfig, {}, "demo", DemoError)


async def test_an_export_source_is_built_from_its_table_and_reads_in_a_thread(
    tmp_path: Path,
) -> None:
    source = DemoSource.from_config({"path": "in"}, SecretResolver(base_dir=tmp_path))
    assert source.path == tmp_path / "in"
    assert source.rules == ()
    ctx = SourceContext(tenant="t", cache=None, today=date(2026, 1, 1))  # type: ignore[arg-type]
    read = await source.read(ctx)
    assert read.stats == {"read": 1}
    await source.aclose()
    with pytest.raises(DemoError, match="demo source: path: is required: the demo folder"):
        DemoSource.from_config({}, SecretResolver(base_dir=tmp_path))
