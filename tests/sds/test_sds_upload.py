"""The upload path against the SDS sandbox over HTTPS on loopback, through whole runs: the
token, an upload session, the blobs on its SAS URI, validate and its operation polled, the run
read; 5xx on the uploads and a refused validation converge with one delivery of each set; a
validation still running when the run gives up is settled, not sent again."""

from __future__ import annotations

import asyncio
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters.sds.delivery import DeliveryProblem
from adapters.sds.files import write_set
from adapters.sds.sandbox import SdsSandbox
from adapters.sds.target import SdsTarget
from engine.config import TenantPolicy
from engine.secrets import SecretResolver
from engine.target import OutcomeKind
from engine.testing.conformance import Bench
from engine.testing.conformance.cases import municipality, renamed

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))

from sds_harness import SdsHarness


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SdsSandbox]:
    sb = SdsSandbox()
    sb.start()
    yield sb
    sb.stop()


@pytest.fixture
def harness(sandbox: SdsSandbox, tmp_path: Path) -> SdsHarness:
    return SdsHarness(sandbox, tmp_path)


def digests(sb: SdsSandbox) -> list[str]:
    return [d["digest"] for d in sb.state()["deliveries"]]


async def test_upload_validate_and_nothing_the_second_time(
    harness: SdsHarness, tmp_path: Path
) -> None:
    bench = Bench(tmp_path, harness)
    snap = bench.source(municipality())
    run = await bench.sync()
    assert run.status == "succeeded", (run.counts, run.error)
    state = harness.sb.state()
    assert len(state["deliveries"]) == 1 and state["uploads"] == 6
    assert state["first_files"] == sorted(
        [
            "orgs.csv",
            "users.csv",
            "roles.csv",
            "classes.csv",
            "enrollments.csv",
            "academicSessions.csv",
        ]
    )
    assert not [k for k, v in harness.truth().live.items() if v != harness.wanted(snap).live[k]]
    assert await bench.log(run.id, "uploaded and validated")
    assert await bench.log(run.id, "latest industry data run")

    again = await bench.sync()
    assert again.status == "succeeded" and not again.counts.get("planned", 0)
    assert len(harness.sb.state()["deliveries"]) == 1
    assert harness.sb.state()["sessions"] == 1  # no upload session was even asked for


async def test_5xx_on_the_uploads_converge_with_one_delivery(
    harness: SdsHarness, tmp_path: Path
) -> None:
    bench = Bench(tmp_path, harness)
    bench.source(municipality())
    harness.sb.update_settings(fault_rate=0.4, fault_kinds=["5xx", "applied_5xx"], faults_on="blob")
    for _ in range(3):
        run = await bench.sync()
        if run.status == "succeeded":
            break
    assert run.status == "succeeded", (run.counts, run.error)
    assert harness.sb.stats()["faults"] > 0
    assert len(digests(harness.sb)) == 1


async def test_a_refused_validation_is_sent_again_whole_and_delivered_once(
    harness: SdsHarness, tmp_path: Path
) -> None:
    bench = Bench(tmp_path, harness)
    bench.source(municipality())
    harness.sb.update_settings(validate_errors=1)
    run = await bench.sync()
    assert run.status == "succeeded", (run.counts, run.error)
    state = harness.sb.state()
    assert state["validations"] == 2 and state["sessions"] == 2
    assert len(state["deliveries"]) == 1
    assert await bench.log(run.id, "SDS refused the set in validation")


async def test_a_validation_still_running_is_settled_not_sent_again(
    harness: SdsHarness, tmp_path: Path
) -> None:
    bench = Bench(tmp_path, harness)
    snap = bench.source(municipality())
    assert (await bench.sync()).status == "succeeded"
    harness.sb.update_settings(validate_delay_s=0.6)
    table = harness.table

    def slow() -> dict[str, object]:
        return {**table(), "validate_timeout_s": 0.1, "poll_interval_s": 0.05}

    harness.table = slow  # type: ignore[method-assign]
    bench.source(renamed(snap))
    run = await bench.sync()
    assert run.status == "succeeded", (run.counts, run.error)
    assert len(digests(harness.sb)) == 2  # the second set once, though the first wait ran out
    assert harness.sb.state()["sessions"] == 2


def test_the_blob_container_takes_only_its_own_signature(sandbox: SdsSandbox) -> None:
    info = sandbox.info
    assert info is not None
    sandbox.reset()
    with httpx.Client(verify=ssl.create_default_context(cafile=info.ca_path)) as client:
        token = client.post(
            info.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": info.client_id,
                "client_secret": info.client_secret,
            },
        ).json()["access_token"]
        url = info.graph_url + (
            f"external/industryData/dataConnectors/{info.data_connector_id}"
            "/microsoft.graph.industryData.azureDataLakeConnector/getUploadSession"
        )
        session = client.get(url, headers={"Authorization": f"Bearer {token}"}).json()
        base, _, query = session["sessionUrl"].partition("?")
        blob = f"{base}/orgs.csv"
        headers = {"x-ms-blob-type": "BlockBlob"}
        forged = client.put(f"{blob}?sv=2021-08-06&sig=forged", content=b"x", headers=headers)
        assert forged.status_code == 403
        assert forged.headers["x-ms-error-code"] == "AuthenticationFailed"
        assert client.put(f"{blob}?{query}", content=b"x", headers=headers).status_code == 201
        unauth = client.get(url)
        assert unauth.status_code == 401
        assert unauth.json()["error"]["code"] == "InvalidAuthenticationToken"
        other = url.replace(info.data_connector_id, "nope")
        assert client.get(other, headers={"Authorization": f"Bearer {token}"}).status_code == 404


async def test_a_validation_an_earlier_process_left_running_is_settled_not_sent_again(
    harness: SdsHarness, tmp_path: Path
) -> None:
    """A run that stopped while SDS was still validating its set: the next process finds the
    pending set in the folder and polls its operation instead of uploading the set again."""
    harness.sb.update_settings(validate_delay_s=0.8)
    table = {**harness.table(), "validate_timeout_s": 0.05, "poll_interval_s": 0.02}
    secrets = SecretResolver(environ=harness.env())
    fileset = write_set({"org": {"o1": {"sourcedId": "o1", "name": "A", "type": "school"}}})

    first = SdsTarget.from_config("sds", table, TenantPolicy(), secrets)
    with pytest.raises(DeliveryProblem) as raised:
        await first.delivery.deliver(fileset, 1, lambda level, message: None)
    assert raised.value.outcome.kind is OutcomeKind.IN_DOUBT
    await first.aclose()

    later = SdsTarget.from_config("sds", table, TenantPolicy(), secrets)  # a new process
    assert await later.delivery.settle(lambda level, message: None) is None  # still running
    assert later.delivery.unsettled()
    await asyncio.sleep(0.8)
    assert await later.delivery.settle(lambda level, message: None) is True
    assert not later.delivery.unsettled()
    assert (await later.delivery.last() or {})["org"] == {
        "o1": {"sourcedId": "o1", "name": "A", "type": "school", "parentSourcedId": ""}
    }
    await later.aclose()
    state = harness.sb.state()
    assert state["sessions"] == 1 and state["uploads"] == 6 and len(state["deliveries"]) == 1
    assert not (tmp_path / "sds" / "pending").exists()
