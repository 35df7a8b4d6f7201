"""Works: register by upload, list with filters and pages, update opt-out, delete from every index; opt-out checks."""
from __future__ import annotations

import json

from tests.api_helpers import ApiEnv, api, image_bytes, stored_state, video_bytes  # noqa: F401 - fixture


def test_register_get_list_update(api: ApiEnv, tmp_path) -> None:
    c = api.client
    jpeg = image_bytes(10)
    r = api.register("alice", jpeg, "../sunset.final.JPG", title="Sunset", opt_out="no_train",
                     metadata=json.dumps({"isrc": "X-1", "year": 2024}))
    assert r.status_code == 201, r.text
    work = r.json()
    assert r.headers["location"] == f"/v1/works/{work['id']}"
    assert work["title"] == "Sunset" and work["holder"] == "Alice" and work["kind"] == "image"
    assert work["opt_out"] == {"train": True, "generate": False} and work["opt_out_scope"] == ["no_train"]
    assert work["metadata"] == {"isrc": "X-1", "year": 2024} and work["source_name"] == "sunset.final.JPG"
    assert work["frames"] == 1 and work["media_format"] == "jpeg" and work["created_at"].endswith("Z")
    # the same bytes again: the existing work, 200
    again = api.register("alice", jpeg, "copy.jpg")
    assert again.status_code == 200 and again.json()["id"] == work["id"]
    # the blob is stored by content, never under the client's name
    assert [p.name for p in api.service.blobs.files()] == [work["sha256"]]

    video = api.register("alice", video_bytes(tmp_path, 3.0, seed=1), "clip.mp4", opt_out="no_train,no_generate")
    assert video.status_code == 201 and video.json()["kind"] == "video" and video.json()["frames"] >= 2
    assert video.json()["opt_out_scope"] == ["no_train", "no_generate"] and video.json()["title"] == "clip"
    plain = api.register("alice", image_bytes(11, "PNG"), "plain.png")
    assert plain.status_code == 201 and plain.json()["opt_out_scope"] == []
    assert api.register("bob", image_bytes(12), "b.jpg").status_code == 201

    page = c.get("/v1/works?limit=2", headers=api.h("alice")).json()
    assert page["total"] == 3 and [w["id"] for w in page["items"]] == [work["id"], video.json()["id"]]
    page2 = c.get("/v1/works?limit=2&offset=2", headers=api.h("alice")).json()
    assert [w["id"] for w in page2["items"]] == [plain.json()["id"]]
    def ids(query: str, who: str = "alice") -> list[int]:
        return [w["id"] for w in c.get(f"/v1/works?{query}", headers=api.h(who)).json()["items"]]
    assert ids("kind=video") == [video.json()["id"]]
    assert ids("opted_out=false") == [plain.json()["id"]]
    assert ids("scope=no_generate") == [video.json()["id"]]
    assert ids("q=SUN") == [work["id"]]
    assert len(ids("", "admin")) == 4 and len(ids("holder=Bob", "admin")) == 1
    r = c.get("/v1/works?limit=0", headers=api.h("alice"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request" and "limit" in r.json()["error"]["message"]

    updated = c.patch(f"/v1/works/{plain.json()['id']}", json={"opt_out": {"generate": True}, "title": "Plain"}, headers=api.h("alice"))
    assert updated.status_code == 200 and updated.json()["opt_out"] == {"train": False, "generate": True}
    assert updated.json()["title"] == "Plain"
    assert c.get(f"/v1/works/{plain.json()['id']}", headers=api.h("alice")).json()["opt_out_scope"] == ["no_generate"]
    r = c.patch(f"/v1/works/{plain.json()['id']}", json={"owner": "me"}, headers=api.h("alice"))
    assert r.status_code == 422
    for form, message in [({"opt_out": "never"}, "unknown scope"), ({"metadata": "{not json"}, "not valid JSON"),
                          ({"metadata": "[1, 2]"}, "must be a JSON object")]:
        r = api.register("alice", image_bytes(13), "x.jpg", **form)
        assert r.status_code == 422 and message in r.json()["error"]["message"]


def test_delete_removes_the_work_from_every_index(api: ApiEnv) -> None:
    c = api.client
    jpeg = image_bytes(20)
    work = api.register("alice", jpeg, "w.jpg", opt_out="all").json()
    before = api.scan("reviewer", jpeg, wait=30).json()
    assert before["status"] == "done" and before["report"]["verdict"] == "match"
    assert before["report"]["matches"][0]["work_id"] == work["id"]
    check = c.post("/v1/optout/check", files=[("files", ("q.jpg", jpeg))], headers=api.h("optout")).json()
    assert check["items"][0]["opted_out"] is True

    assert c.delete(f"/v1/works/{work['id']}", headers=api.h("alice")).status_code == 204
    assert c.get(f"/v1/works/{work['id']}", headers=api.h("alice")).status_code == 404
    after = api.scan("reviewer", jpeg, wait=30).json()
    assert after["status"] == "done" and after["report"]["matches"] == [] and after["report"]["verdict"] == "no_match"
    check = c.post("/v1/optout/check", files=[("files", ("q.jpg", jpeg))], headers=api.h("optout")).json()
    assert check["items"][0]["opted_out"] is False
    state = stored_state(api.service)
    assert state["works"] == 0 and state["frames"] == 0
    # the work's blob stays only because the scans above uploaded the same bytes
    assert c.delete(f"/v1/works/{work['id']}", headers=api.h("alice")).status_code == 404


def test_deleting_an_unshared_work_deletes_its_blob(api: ApiEnv) -> None:
    work = api.register("alice", image_bytes(21), "w.jpg").json()
    assert api.service.blobs.exists(work["sha256"])
    assert api.client.delete(f"/v1/works/{work['id']}", headers=api.h("alice")).status_code == 204
    assert stored_state(api.service)["blobs"] == []


def test_optout_check_images_and_hashes(api: ApiEnv, tmp_path) -> None:
    c = api.client
    no_train = api.register("alice", image_bytes(30), "a.jpg", title="A", opt_out="no_train").json()
    api.register("bob", image_bytes(31), "b.jpg", title="B", opt_out="no_generate")
    api.register("bob", image_bytes(32), "c.jpg", title="C")  # registered, not opted out
    before = stored_state(api.service)
    files = [("files", ("a-copy.jpg", image_bytes(30, "PNG"))), ("files", ("b.jpg", image_bytes(31))),
             ("files", ("c.jpg", image_bytes(32))), ("files", ("new.jpg", image_bytes(33))),
             ("files", ("broken.jpg", image_bytes(34)[:500])), ("files", ("clip.mp4", video_bytes(tmp_path, 1.0)))]
    body = c.post("/v1/optout/check", files=files, data={"scope": "no_train", "pdq": ["f" * 64, "xyz"]}, headers=api.h("optout"))
    assert body.status_code == 200, body.text
    items = body.json()["items"]
    assert body.json()["scope"] == "no_train" and [i["index"] for i in items] == list(range(8))
    assert items[0]["opted_out"] is True and items[0]["match"]["work_id"] == no_train["id"]
    assert items[0]["match"]["holder"] == "Alice" and items[0]["match"]["pdq_distance"] <= 31
    assert [i["opted_out"] for i in items[1:4]] == [False, False, False]  # B opted out of generation only; C not at all
    assert items[4]["error"]["code"] == "corrupt_media" and "broken.jpg" in items[4]["error"]["message"]
    assert "takes images" in items[5]["error"]["message"]
    assert items[6]["input"] == "pdq" and items[6]["opted_out"] is False and items[6]["error"] is None
    assert items[7]["error"]["code"] == "invalid_hash"
    any_scope = c.post("/v1/optout/check", files=files[:3], headers=api.h("optout")).json()["items"]
    assert [i["opted_out"] for i in any_scope] == [True, True, False]
    # a precomputed hash (as the check reported it) gives the same answer, as JSON too
    hashed = c.post("/v1/optout/check-hashes", json={"pdq": [items[0]["pdq"]], "scope": "no_train"}, headers=api.h("optout")).json()
    assert hashed["items"][0]["match"]["work_id"] == no_train["id"] and hashed["items"][0]["match"]["pdq_distance"] <= 31
    no_gen = c.post("/v1/optout/check-hashes", json={"pdq": [items[0]["pdq"]], "scope": "no_generate"}, headers=api.h("optout")).json()
    assert no_gen["items"][0]["opted_out"] is False
    # limits, and nothing of a check is stored
    r = c.post("/v1/optout/check-hashes", json={"pdq": ["0" * 64] * 65}, headers=api.h("optout"))
    assert r.status_code == 422 and "at most 64" in r.json()["error"]["message"]
    r = c.post("/v1/optout/check", data={"scope": "no_train"}, headers=api.h("optout"))
    assert r.status_code == 422 and "at least one" in r.json()["error"]["message"]
    assert stored_state(api.service) == before


def test_out_of_range_ids_are_invalid_not_server_errors(api: ApiEnv) -> None:
    for method, path in [("GET", "/v1/works/99999999999"), ("DELETE", "/v1/works/0"), ("GET", "/v1/works/abc")]:
        r = api.client.request(method, path, headers=api.h("alice"))
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request", (path, r.text)
    assert api.client.delete("/v1/keys/99999999999", headers=api.h("admin")).status_code == 422
    assert api.client.get("/v1/scans/" + "x" * 500, headers=api.h("reviewer")).status_code == 404
