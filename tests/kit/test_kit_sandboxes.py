"""Both sandboxes are built on the kit: the same settings endpoint, time scale and faults."""

from __future__ import annotations

import socket
import ssl
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from adapters.kit.sandbox import SandboxError
from adapters.microsoft.sandbox import MicrosoftSandbox
from adapters.ss12000.sample.generate import generate
from adapters.ss12000.sandbox import SandboxSettings, SS12000Sandbox


def _token(info_token_url: str, client_id: str, secret: str) -> str:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return str(httpx.post(info_token_url, data=form).json()["access_token"])


def test_the_ss12000_sandbox_takes_settings_and_shows_its_state_over_http() -> None:
    dataset = generate("40", 2, date(2026, 8, 20))
    with SS12000Sandbox(dataset, settings=SandboxSettings(profile="ist")) as sandbox:
        info = sandbox.info
        root = info.base_url.split("/ss12000v2-api")[0]
        headers = {
            "Authorization": f"Bearer {_token(info.token_url, info.client_id, info.client_secret)}"
        }
        with httpx.Client() as http:
            settings = http.get(f"{root}/_sandbox/settings").json()
            assert settings["profile"] == "ist"
            assert settings["time_scale"] == 1.0
            fixed = http.post(f"{root}/_sandbox/settings", json={"profile": "edlevo"})
            assert fixed.status_code == 400
            assert "profile" in fixed.json()["error"]
            unknown_kind = http.post(f"{root}/_sandbox/settings", json={"fault_kinds": ["meteor"]})
            assert unknown_kind.status_code == 400
            changed = http.post(
                f"{root}/_sandbox/settings", json={"fault_rate": 1.0, "fault_kinds": ["html"]}
            )
            assert changed.status_code == 200
            page = http.get(f"{info.base_url}/persons", headers=headers)
            assert page.headers["content-type"].startswith("text/html")
            item_id = dataset.entities["persons"][0]["id"]
            item = http.get(f"{info.base_url}/persons/{item_id}", headers=headers)
            assert item.json()["id"] == item_id  # items are never broken
            http.post(
                f"{root}/_sandbox/settings",
                json={"fault_kinds": ["timeout"], "timeout_hang_s": 100, "time_scale": 0.01},
            )
            hung = http.get(f"{info.base_url}/persons", headers=headers, timeout=5)
            assert hung.status_code == 504  # after 100 s x 0.01
            state = http.get(f"{root}/_sandbox/state").json()
        assert state["profile"] == "ist"
        assert state["counts"]["persons"] == dataset.counts()["persons"]
        assert sandbox.settings.fault_kinds == ("timeout",)
        assert sandbox.stats()["faults"] == 2


def test_the_microsoft_sandbox_takes_a_time_scale_over_http() -> None:
    with MicrosoftSandbox() as sandbox:
        tls = ssl.create_default_context(cafile=sandbox.info.ca_path)
        url = f"{sandbox.info.inspect_url}/settings"
        changed = httpx.post(url, json={"time_scale": 0.01}, verify=tls)
        refused = httpx.post(url, json={"time_scale": -1, "latency_ms": 3}, verify=tls)
        assert changed.json()["time_scale"] == 0.01
        assert refused.status_code == 400
        assert sandbox.settings.time_scale == 0.01
        assert sandbox.settings.latency_ms == 0


@pytest.fixture
def taken_port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


def test_a_sandbox_that_cannot_listen_says_so_and_leaves_no_files(
    taken_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(SandboxError, match=f"cannot listen on 127.0.0.1:{taken_port}"):
        MicrosoftSandbox(port=taken_port).start()
    dataset = generate("40", 2, date(2026, 8, 20))
    certs = SandboxSettings(client_certs=True)
    with pytest.raises(SandboxError, match=f"cannot listen on 127.0.0.1:{taken_port}"):
        SS12000Sandbox(dataset, port=taken_port, settings=certs).start()
    assert list(tmp_path.iterdir()) == []
