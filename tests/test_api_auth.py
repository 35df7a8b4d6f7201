"""API keys and roles: 401 without a valid key, 403 for the wrong role, 404 for other people's objects."""
from __future__ import annotations

from sqlalchemy import select

from reference_db.models import ApiKey
from tests.api_helpers import ApiEnv, api, image_bytes, key  # noqa: F401 - fixture

EVERY_V1_ENDPOINT = [
    ("GET", "/v1/holders"), ("POST", "/v1/holders"), ("GET", "/v1/holders/1"), ("GET", "/v1/keys"), ("POST", "/v1/keys"),
    ("DELETE", "/v1/keys/1"), ("GET", "/v1/works"), ("POST", "/v1/works"), ("GET", "/v1/works/1"),
    ("PATCH", "/v1/works/1"), ("DELETE", "/v1/works/1"), ("GET", "/v1/scans"), ("POST", "/v1/scans"),
    ("GET", "/v1/scans/scan_x"), ("GET", "/v1/scans/scan_x/report.html"), ("POST", "/v1/optout/check"),
    ("POST", "/v1/optout/check-hashes"),
]


def test_missing_invalid_and_revoked_keys_get_401(api: ApiEnv) -> None:
    c = api.client
    for method, path in EVERY_V1_ENDPOINT:
        for headers in ({}, key("prov_not-a-real-key"), {"X-API-Key": "nonsense"}, {"Authorization": "Bearer prov_wrong"}):
            r = c.request(method, path, headers=headers)
            assert r.status_code == 401, (method, path, headers, r.text)
            assert r.json()["error"]["code"] == "unauthorized"
            assert r.headers["www-authenticate"] == "Bearer"
    # a bearer token works like the header
    assert c.get("/v1/scans", headers={"Authorization": f"Bearer {api.keys['reviewer']}"}).status_code == 200
    # revoked keys stop working at once
    issued = c.post("/v1/keys", json={"role": "reviewer", "name": "temp"}, headers=api.h("admin")).json()
    assert c.get("/v1/scans", headers=key(issued["key"])).status_code == 200
    assert c.delete(f"/v1/keys/{issued['id']}", headers=api.h("admin")).status_code == 204
    r = c.get("/v1/scans", headers=key(issued["key"]))
    assert r.status_code == 401 and r.json()["error"]["message"] == "missing or invalid API key"


def test_keys_are_shown_once_and_stored_as_hashes(api: ApiEnv) -> None:
    c, admin = api.client, api.h("admin")
    assert c.post("/v1/holders", json={"name": "Carol"}, headers=admin).status_code == 201
    r = c.post("/v1/holders", json={"name": "Carol"}, headers=admin)
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    created = c.post("/v1/keys", json={"role": "rights_holder", "holder": "Carol", "name": "uploads"}, headers=admin)
    assert created.status_code == 201 and created.headers["location"] == f"/v1/keys/{created.json()['id']}"
    secret = created.json()["key"]
    assert secret.startswith("prov_") and len(secret) > 40 and created.json()["holder"] == "Carol"
    listed = c.get("/v1/keys", headers=admin)
    assert listed.status_code == 200 and secret not in listed.text and "key_hash" not in listed.text
    with api.service.store.session() as session:
        for row in session.scalars(select(ApiKey)):
            assert secret not in (row.key_hash, row.prefix, row.name) and len(row.key_hash) == 64
    # the holder binding is checked
    r = c.post("/v1/keys", json={"role": "rights_holder"}, headers=admin)
    assert r.status_code == 422 and "needs holder" in r.json()["error"]["message"]
    r = c.post("/v1/keys", json={"role": "reviewer", "holder": "Carol"}, headers=admin)
    assert r.status_code == 422 and "not bound" in r.json()["error"]["message"]
    assert c.post("/v1/keys", json={"role": "rights_holder", "holder": "Nobody"}, headers=admin).status_code == 404
    r = c.post("/v1/keys", json={"role": "superuser"}, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request" and r.json()["error"]["details"]


def test_holder_b_cannot_touch_holder_a_works(api: ApiEnv) -> None:
    c = api.client
    created = api.register("alice", image_bytes(1), "a.jpg", title="Alice's", opt_out="no_train")
    assert created.status_code == 201
    work_id = created.json()["id"]
    missing_id = work_id + 1000
    for method, kwargs in [("GET", {}), ("PATCH", {"json": {"opt_out": {"train": False}}}), ("DELETE", {})]:
        theirs = c.request(method, f"/v1/works/{work_id}", headers=api.h("bob"), **kwargs)
        absent = c.request(method, f"/v1/works/{missing_id}", headers=api.h("bob"), **kwargs)
        assert theirs.status_code == 404, (method, theirs.text)
        assert theirs.json() == absent.json()  # indistinguishable from a work that does not exist
    listed = c.get("/v1/works", headers=api.h("bob")).json()
    assert listed["total"] == 0 and listed["items"] == []
    r = c.post("/v1/works", files={"file": ("b.jpg", image_bytes(2))}, data={"holder": "Alice"}, headers=api.h("bob"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    # Alice's work is untouched
    mine = c.get(f"/v1/works/{work_id}", headers=api.h("alice")).json()
    assert mine["opt_out"] == {"train": True, "generate": False} and mine["title"] == "Alice's"
    assert c.get("/v1/works", headers=api.h("alice")).json()["total"] == 1


def test_roles_are_enforced(api: ApiEnv) -> None:
    c = api.client
    jpeg = image_bytes(3)
    # reviewers scan; they cannot register, list or change works, check opt-out or manage keys
    r = c.post("/v1/works", files={"file": ("w.jpg", jpeg)}, data={"holder": "Alice"}, headers=api.h("reviewer"))
    assert r.status_code == 403 and r.json()["error"] == {"code": "forbidden", "message": "a reviewer key may not do this"}
    for method, path in [("GET", "/v1/works"), ("GET", "/v1/works/1"), ("DELETE", "/v1/works/1"), ("GET", "/v1/keys"),
                         ("POST", "/v1/holders"), ("POST", "/v1/optout/check-hashes")]:
        assert c.request(method, path, headers=api.h("reviewer"), json={}).status_code == 403, path
    # opt-out clients can only check
    for method, path in [("GET", "/v1/works"), ("POST", "/v1/works"), ("GET", "/v1/scans"), ("POST", "/v1/scans"),
                         ("GET", "/v1/scans/scan_x"), ("GET", "/v1/keys"), ("GET", "/v1/holders")]:
        assert c.request(method, path, headers=api.h("optout")).status_code == 403, path
    r = c.post("/v1/optout/check-hashes", json={"pdq": ["0" * 64]}, headers=api.h("optout"))
    assert r.status_code == 200 and r.json()["items"][0]["opted_out"] is False
    # rights holders manage works only
    for method, path in [("GET", "/v1/scans"), ("POST", "/v1/scans"), ("POST", "/v1/optout/check-hashes"), ("GET", "/v1/keys"),
                         ("POST", "/v1/keys"), ("GET", "/v1/holders")]:
        assert c.request(method, path, headers=api.h("alice"), json={}).status_code == 403, path
    # admins register for a named holder, and may do the rest
    r = c.post("/v1/works", files={"file": ("w.jpg", jpeg)}, headers=api.h("admin"))
    assert r.status_code == 422 and "holder" in r.json()["error"]["message"]
    r = c.post("/v1/works", files={"file": ("w.jpg", jpeg)}, data={"holder": "Alice"}, headers=api.h("admin"))
    assert r.status_code == 201 and r.json()["holder"] == "Alice"
    assert c.get("/v1/works", headers=api.h("admin")).json()["total"] == 1
    assert c.get("/v1/holders", headers=api.h("admin")).status_code == 200


def test_reviewers_see_only_their_own_scans(api: ApiEnv) -> None:
    c = api.client
    scan = api.scan("reviewer", image_bytes(4), wait=20).json()
    assert scan["status"] == "done"
    for path in (f"/v1/scans/{scan['id']}", f"/v1/scans/{scan['id']}/report.html"):
        other = c.get(path, headers=api.h("reviewer2"))
        absent = c.get(path.replace(scan["id"], "scan_" + "0" * 32), headers=api.h("reviewer2"))
        assert other.status_code == absent.status_code == 404 and other.json() == absent.json()
        assert c.get(path, headers=api.h("reviewer")).status_code == 200
        assert c.get(path, headers=api.h("admin")).status_code == 200
    assert c.get("/v1/scans", headers=api.h("reviewer2")).json()["total"] == 0
    assert c.get("/v1/scans", headers=api.h("reviewer")).json()["total"] == 1
