"""Delta queries: deltaLink rounds, hand-made drift showing up, paging, 410 for bad tokens."""

from __future__ import annotations

from typing import Any

import httpx

from adapters.microsoft.sandbox import MicrosoftSandbox


async def drain(graph: httpx.AsyncClient, url: str) -> tuple[list[dict[str, Any]], str, int]:
    """Follow nextLinks to the deltaLink; returns items, the deltaLink and the page count."""
    items: list[dict[str, Any]] = []
    pages = 0
    response = await graph.get(url)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        items.extend(body["value"])
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"], pages
        response = await graph.get(body["@odata.nextLink"])


async def test_group_delta_shows_a_member_removed_by_hand(
    graph: httpx.AsyncClient, make_class: Any, make_user: Any, sandbox: MicrosoftSandbox
) -> None:
    klass = await make_class()
    users = [(await make_user())["id"] for _ in range(2)]
    for uid in users:
        await graph.post(
            f"education/classes/{klass['id']}/members/$ref",
            json={"@odata.id": f"https://graph.microsoft.com/v1.0/users/{uid}"},
        )
    items, link, _ = await drain(graph, "groups/delta")
    initial = {i["id"]: i for i in items}[klass["id"]]
    assert {m["id"] for m in initial["members@delta"]} == set(users)

    nothing, link, _ = await drain(graph, link)
    assert nothing == []

    sandbox.remove_member(klass["id"], users[0])
    changed, link, _ = await drain(graph, link)
    assert [c["id"] for c in changed] == [klass["id"]]
    assert changed[0]["members@delta"] == [
        {"@odata.type": "#microsoft.graph.user", "id": users[0], "@removed": {"reason": "deleted"}}
    ]


async def test_class_delta_shows_a_rename_by_hand_and_a_deletion(
    graph: httpx.AsyncClient, make_class: Any, sandbox: MicrosoftSandbox
) -> None:
    keep = await make_class()
    drop = await make_class()
    _, link, _ = await drain(graph, "education/classes/delta")
    sandbox.rename_group(keep["id"], "Omdöpt för hand")
    await graph.delete(f"education/classes/{drop['id']}")
    changed, _, _ = await drain(graph, link)
    by_id = {c["id"]: c for c in changed}
    assert by_id[keep["id"]]["displayName"] == "Omdöpt för hand"
    assert by_id[drop["id"]]["@removed"] == {"reason": "changed"}


async def test_user_delta_pages_and_latest(
    graph: httpx.AsyncClient, make_user: Any, sandbox: MicrosoftSandbox
) -> None:
    sandbox.settings.page_size = 2
    created = [(await make_user())["id"] for _ in range(5)]
    items, _, pages = await drain(graph, "users/delta")
    assert [i["id"] for i in items] == created
    assert pages == 3
    latest = await graph.get("education/users/delta", params={"$deltatoken": "latest"})
    assert latest.json()["value"] == []
    await graph.patch(f"users/{created[1]}", json={"displayName": "Ändrad"})
    changed, _, _ = await drain(graph, latest.json()["@odata.deltaLink"])
    assert [(c["id"], c["displayName"]) for c in changed] == [(created[1], "Ändrad")]


async def test_school_delta(graph: httpx.AsyncClient) -> None:
    await graph.post("education/schools", json={"displayName": "A", "externalId": "A"})
    items, link, _ = await drain(graph, "education/schools/delta")
    assert [i["externalId"] for i in items] == ["A"]
    again, _, _ = await drain(graph, link)
    assert again == []


async def test_unknown_and_expired_tokens_answer_410(
    graph: httpx.AsyncClient, sandbox: MicrosoftSandbox
) -> None:
    unknown = await graph.get("groups/delta", params={"$deltatoken": "garbage"})
    assert unknown.status_code == 410
    assert unknown.headers["location"].endswith("$deltatoken=")
    _, link, _ = await drain(graph, "groups/delta")
    sandbox.settings.delta_token_ttl_s = 0
    expired = await graph.get(link)
    assert expired.status_code == 410
    assert expired.json()["error"]["code"] == "syncStateNotFound"
    other_kind = link.replace("groups/delta", "users/delta")
    sandbox.settings.delta_token_ttl_s = 3600
    assert (await graph.get(other_kind)).status_code == 410
