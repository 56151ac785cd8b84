"""The SDS sandbox on its own: ``ess sandbox sds --json`` is enough to reach it, its upload
session takes blobs from Microsoft's own Azure Blob client (azure-storage-blob) on the SAS URI
alone, a bad setting is refused before anything starts, and its checks refuse a set that is
not SDS v2.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from typing import Any

import httpx
import pytest
from azure.storage.blob import BlobClient

from adapters.kit.sandbox import SettingsError
from adapters.sds.sandbox import SdsSandbox
from adapters.sds.sandbox.command import SANDBOX
from engine.plugins import SandboxCommand, SandboxOptions

SESSION = (
    "external/industryData/dataConnectors/{id}"
    "/microsoft.graph.industryData.azureDataLakeConnector/getUploadSession"
)


def _client(fields: dict[str, Any]) -> tuple[httpx.Client, dict[str, str]]:
    client = httpx.Client(verify=ssl.create_default_context(cafile=fields["ca_path"]))
    token = client.post(
        fields["token_url"],
        data={
            "grant_type": "client_credentials",
            "client_id": fields["client_id"],
            "client_secret": fields["client_secret"],
            "scope": "https://graph.microsoft.com/.default",
        },
    ).json()["access_token"]
    return client, {"Authorization": f"Bearer {token}"}


def _upload_and_validate(fields: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
    client, auth = _client(fields)
    try:
        url = fields["graph_url"] + SESSION.format(id=fields["data_connector_id"])
        session = client.get(url, headers=auth).json()
        for name, data in files.items():
            # Microsoft's own blob client, given nothing but the SAS URI
            base, _, query = session["sessionUrl"].partition("?")
            blob = BlobClient.from_blob_url(
                f"{base}/{name}?{query}", connection_verify=fields["ca_path"]
            )
            blob.upload_blob(data, overwrite=True)
        validate = client.post(
            fields["graph_url"]
            + f"external/industryData/dataConnectors/{fields['data_connector_id']}/validate",
            headers=auth,
        )
        assert validate.status_code == 202
        return dict(client.get(validate.headers["Location"], headers=auth).json())
    finally:
        client.close()


async def test_the_json_line_is_enough_for_the_upload_path() -> None:
    assert isinstance(SANDBOX, SandboxCommand)
    lines: list[str] = []
    announced = asyncio.Event()

    def emit(text: str) -> None:
        lines.append(text)
        announced.set()

    task = asyncio.create_task(SANDBOX.serve(SandboxOptions(json_output=True), emit))
    try:
        await asyncio.wait_for(announced.wait(), timeout=30)
        fields = json.loads(lines[0])
        good = {
            "orgs.csv": b"sourcedId,name,type,parentSourcedId\r\no1,Skolan,school,\r\n",
            "users.csv": b"sourcedId,username\r\nu1,a@skola.example\r\n",
            "roles.csv": b"userSourcedId,orgSourcedId,role\r\nu1,o1,student\r\n",
        }
        op = await asyncio.to_thread(_upload_and_validate, fields, good)
        assert op["status"] == "succeeded", op
        assert op["@odata.type"] == "#microsoft.graph.industryData.fileValidateOperation"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_bad_setting_is_refused_before_anything_starts() -> None:
    options = SandboxOptions(json_output=True, extra={"faults_on": "everywhere"})
    with pytest.raises(SettingsError, match="faults_on"):
        await SANDBOX.serve(options, lambda text: None)


def test_a_set_that_is_not_sds_v2_1_is_refused_in_validation() -> None:
    with SdsSandbox() as sb:
        info = sb.info
        assert info is not None
        fields = json.loads(info.to_json())
        bad = {
            # headers are case-sensitive
            "orgs.csv": b"SourcedId,name,type\r\no1,Skolan,school\r\n",
            "users.csv": b"sourcedId,username\r\nu1,a@skola.example\r\n",
        }  # and roles.csv, a required file, is missing
        op = _upload_and_validate(fields, bad)
        assert op["status"] == "failed"
        codes = {e["code"] for e in op["errors"]}
        assert codes == {"InvalidHeader", "MissingFile"}
        assert sb.state()["deliveries"] == []
