"""IMS Enterprise and OneRoster source harnesses: the municipality the SS 12000 harnesses
serve, written by ESS's own IMS and OneRoster sample writers (as ``ess sample generate
--format ims|oneroster-csv`` writes it) and read back through the IMS and OneRoster sources,
as a folder, as a zip, and as a full export with a delta after it; and served over HTTPS by
``ess sandbox ims`` and ``ess sandbox oneroster`` and read through the sources' HTTP forms."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path

from adapters.ims.config import ImsConfig
from adapters.ims.sandbox import ImsSandbox
from adapters.ims.sandbox import SandboxSettings as ImsSandboxSettings
from adapters.ims.source import ImsSource
from adapters.ims.writer import write_complete, write_delta
from adapters.kit.retry import Backoff
from adapters.kit.tls import ClientCert, tls_context
from adapters.oneroster.config import OneRosterConfig
from adapters.oneroster.sandbox import OneRosterSandbox
from adapters.oneroster.sandbox import SandboxSettings as OneRosterSandboxSettings
from adapters.oneroster.source import OneRosterSource
from adapters.oneroster.writer import write_package
from adapters.ss12000.config import SS12000Config
from adapters.ss12000.sample.dataset import write_dataset
from adapters.ss12000.sample.generate import generate
from adapters.ss12000.source import SS12000Source
from engine.model import Snapshot
from engine.secrets import Secret
from engine.source import CachedSource, SourceContext
from engine.testing.conformance.sources import MunicipalitySpec

QUICK = Backoff(attempts=4, base_s=0.01, cap_s=0.05)


class _NoCache:
    async def load(self) -> CachedSource:
        return CachedSource({}, None, None)

    async def save(self, **_: object) -> None:
        return None


def _ctx(spec: MunicipalitySpec) -> SourceContext:
    return SourceContext("conformance", _NoCache(), spec.as_of)


async def _municipality(base: Path, spec: MunicipalitySpec) -> Snapshot:
    """The generated municipality as the snapshot the sample writers take."""
    folder = base / "seed"
    write_dataset(generate(spec.pupils, spec.seed, spec.as_of), folder)
    source = SS12000Source(SS12000Config(path=str(folder), parallel_read=False))
    try:
        return (await source.read(_ctx(spec), full=True)).snapshot
    finally:
        await source.aclose()


def _zip(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f.name)
    return archive


async def _read(source: ImsSource | OneRosterSource, spec: MunicipalitySpec) -> Snapshot:
    read = await source.read(_ctx(spec), full=True)
    assert not read.findings, read.findings[:3]
    return read.snapshot


class ImsFileHarness:
    """A complete export (``as_zip``: zipped), or with ``delta`` a complete export of the
    municipality without some of its persons and groups and a delta export bringing them."""

    inapplicable: Mapping[str, str] = {}

    def __init__(self, base: Path, *, as_zip: bool = False, delta: bool = False) -> None:
        self.base, self.as_zip, self.delta = base, as_zip, delta
        self.name = "ims-" + ("zip" if as_zip else "delta" if delta else "file")

    async def read(self, spec: MunicipalitySpec) -> Snapshot:
        snap = await _municipality(self.base, spec)
        folder = self.base / "ims"
        folder.mkdir()
        if self.delta:
            before = snap.without(persons=sorted(snap.persons)[:7], groups=sorted(snap.groups)[:2])
            write_complete(before, folder / "0001-complete.xml")
            changes = write_delta(before, snap, folder / "0002-delta.xml")
            assert changes["added"] > 0
        else:
            write_complete(snap, folder / "0001-complete.xml")
        path = _zip(folder, self.base / "ims.zip") if self.as_zip else folder
        return await _read(ImsSource(ImsConfig(path=str(path))), spec)


class OneRosterCsvHarness:
    """A bulk package as a folder (``as_zip``: a zip)."""

    inapplicable: Mapping[str, str] = {}

    def __init__(self, base: Path, *, as_zip: bool = False) -> None:
        self.base, self.as_zip = base, as_zip
        self.name = "oneroster-" + ("zip" if as_zip else "csv")

    async def read(self, spec: MunicipalitySpec) -> Snapshot:
        snap = await _municipality(self.base, spec)
        folder = self.base / "oneroster"
        write_package(snap, folder)
        path = _zip(folder, self.base / "oneroster.zip") if self.as_zip else folder
        return await _read(OneRosterSource(OneRosterConfig(path=str(path))), spec)


class ImsHttpsHarness:
    """The complete export fetched from the IMS sandbox (Tieto's Organization API) over
    mutual TLS with an API key; ``fault_rate``: the sandbox breaks that share of requests
    (its dice seeded by ``fault_seed``)."""

    inapplicable: Mapping[str, str] = {}

    def __init__(self, base: Path, *, fault_rate: float = 0.0, fault_seed: int = 0) -> None:
        self.name = "ims-https"
        self.fault_rate, self.fault_seed = fault_rate, fault_seed

    async def read(self, spec: MunicipalitySpec) -> Snapshot:
        settings = ImsSandboxSettings(fault_rate=self.fault_rate, seed=self.fault_seed)
        sandbox = ImsSandbox(
            size=str(spec.pupils), seed=spec.seed, as_of=spec.as_of, settings=settings
        )
        async with sandbox:
            info = sandbox.info
            config = ImsConfig(
                urls=info.urls,
                api_key="env:ESS_CONFORMANCE_IMS_KEY",
                api_key_header=info.api_key_header,
                client_cert=info.client_cert,
                verify=info.ca_cert,
            )
            tls = tls_context(info.ca_cert, ClientCert(Path(info.client_cert)))
            source = ImsSource(
                config, api_key=Secret("env:ESS_CONFORMANCE_IMS_KEY", info.api_key), tls=tls
            )
            source.backoff = QUICK
            return await _read(source, spec)


class OneRosterRestHarness:
    """The municipality read from the OneRoster sandbox's rostering REST API (v1p2);
    ``fault_rate``: the sandbox breaks that share of requests (its dice seeded by
    ``fault_seed``)."""

    inapplicable: Mapping[str, str] = {}

    def __init__(self, base: Path, *, fault_rate: float = 0.0, fault_seed: int = 0) -> None:
        self.name = "oneroster-rest"
        self.fault_rate, self.fault_seed = fault_rate, fault_seed

    async def read(self, spec: MunicipalitySpec) -> Snapshot:
        settings = OneRosterSandboxSettings(fault_rate=self.fault_rate, seed=self.fault_seed)
        sandbox = OneRosterSandbox(
            size=str(spec.pupils), seed=spec.seed, as_of=spec.as_of, settings=settings
        )
        async with sandbox:
            info = sandbox.info
            config = OneRosterConfig(
                base_url=info.base_url,
                token_url=info.token_url,
                client_id=info.client_id,
                client_secret="env:ESS_CONFORMANCE_OR_SECRET",
                verify=info.ca_cert,
                page_size=50,
            )
            source = OneRosterSource(
                config,
                secret=Secret("env:ESS_CONFORMANCE_OR_SECRET", info.client_secret),
                tls=tls_context(info.ca_cert),
            )
            source.backoff = QUICK
            return await _read(source, spec)
