"""Request and response models of the HTTP API (they are the OpenAPI schema)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _as_utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every time the store writes is UTC
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
Id = Annotated[int, Path(ge=1, le=2**31 - 1, description="The object's id.")]

Role = Literal["admin", "rights_holder", "reviewer", "optout_client"]
ScanStatus = Literal["queued", "running", "done", "failed"]
OptOutScope = Literal["no_train", "no_generate"]


# -- errors ----------------------------------------------------------------------------
class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `corrupt_media`, `forbidden`.")
    message: str = Field(description="What was wrong, for a person.")


class ErrorInfo(ErrorBody):
    details: list[dict[str, Any]] | None = Field(
        default=None, description="Field errors of a rejected request (`invalid_request` only)."
    )


class ErrorResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"error": {"code": "corrupt_media", "message": "clip.mp4: the video data is damaged"}}}
    )
    error: ErrorInfo


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error statuses an endpoint can answer."""
    described = {
        400: "Malformed request.",
        401: "Missing, unknown or revoked API key.",
        403: "The key's role may not do this.",
        404: "No such object, or it belongs to someone else.",
        409: "Conflicts with the current state.",
        413: "The upload exceeds the size limit.",
        422: "Invalid fields, or media that is corrupt, truncated, unsupported or over a limit.",
        503: "Not ready.",
    }
    return {code: {"model": ErrorResponse, "description": described[code]} for code in codes}


def json_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``errors`` for a route whose own responses are not JSON (its errors still are)."""
    ref = {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
    return {code: {"description": entry["description"], "content": {"application/json": ref}} for code, entry in errors(*codes).items()}


# -- holders and keys --------------------------------------------------------------------
class HolderCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"name": "Blender Foundation"}})
    name: str = Field(min_length=1, max_length=200)


class Holder(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"id": 1, "name": "Blender Foundation", "created_at": "2026-01-01T00:00:00Z", "works": 3}}
    )
    id: int
    name: str
    created_at: UtcDatetime
    works: int = 0


class HolderList(BaseModel):
    items: list[Holder]


class KeyCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"role": "rights_holder", "holder_id": 1, "name": "blender-uploads"}}
    )
    role: Role
    holder_id: int | None = Field(default=None, description="Required for `rights_holder` keys (or `holder`).")
    holder: str | None = Field(default=None, description="Holder name instead of `holder_id`.")
    name: str = Field(default="", max_length=200, description="A label for people.")


class KeyInfo(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"id": 4, "role": "reviewer", "holder_id": None, "holder": None, "name": "trust-and-safety",
                        "created_at": "2026-01-01T00:00:00Z", "revoked_at": None}
        }
    )
    id: int
    role: Role
    holder_id: int | None = None
    holder: str | None = None
    name: str = ""
    created_at: UtcDatetime
    revoked_at: UtcDatetime | None = None


class KeyCreated(KeyInfo):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"id": 4, "role": "reviewer", "holder_id": None, "holder": None, "name": "trust-and-safety",
                        "created_at": "2026-01-01T00:00:00Z", "revoked_at": None,
                        "key": "prov_4mJ0c1yQ2nX8dVbS3k9wR7tLp5eZa6uHf0gKq1iOo2M"}
        }
    )
    key: str = Field(description="The secret. Shown once: only its hash is stored.")


class KeyList(BaseModel):
    items: list[KeyInfo]


# -- works --------------------------------------------------------------------------------
class OptOut(BaseModel):
    train: bool = Field(description="`no_train`: not to be used as AI training data.")
    generate: bool = Field(description="`no_generate`: not to be reproduced by generators.")


class OptOutUpdate(BaseModel):
    train: bool | None = None
    generate: bool | None = None


class Work(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": 12, "title": "Big Buck Bunny", "holder_id": 1, "holder": "Blender Foundation", "kind": "video",
                "media_format": "mp4", "sha256": "9f2c…", "size_bytes": 1048576, "duration": 5.3, "width": 1280,
                "height": 720, "frames": 9, "opt_out": {"train": True, "generate": False}, "opt_out_scope": ["no_train"],
                "metadata": {"isrc": "XX-000-00-00000"}, "source_name": "bbb.mp4", "created_at": "2026-01-01T00:00:00Z",
            }
        }
    )
    id: int
    title: str
    holder_id: int
    holder: str
    kind: Literal["image", "video"]
    media_format: str
    sha256: str
    size_bytes: int
    duration: float
    width: int
    height: int
    frames: int
    opt_out: OptOut
    opt_out_scope: list[OptOutScope]
    metadata: dict[str, Any]
    source_name: str
    created_at: UtcDatetime


class WorkPage(BaseModel):
    items: list[Work]
    total: int
    limit: int
    offset: int


class WorkUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"opt_out": {"train": True, "generate": True}}}
    )
    title: str | None = Field(default=None, min_length=1, max_length=500)
    opt_out: OptOutUpdate | None = None
    metadata: dict[str, Any] | None = None


# -- scans ---------------------------------------------------------------------------------
class ScanMatch(BaseModel):
    model_config = ConfigDict(extra="allow")
    work_id: int
    title: str
    holder: str
    score: float
    verdict: Literal["match", "similar", "no_match"]
    segments: list[dict[str, Any]]
    evidence: dict[str, Any]


class ScanReport(BaseModel):
    """The SCAN schema, exactly as ``provenance scan --json`` prints each scan."""

    model_config = ConfigDict(extra="allow")
    path: str = Field(description="The upload's (cleaned) file name.")
    kind: Literal["image", "video"]
    duration: float
    verdict: Literal["match", "similar", "no_match"]
    matches: list[ScanMatch]
    provenance: dict[str, Any]
    timings: dict[str, float]


class ScanLinks(BaseModel):
    self: str
    report_html: str


class Scan(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "scan_5f0c8e5e2b6a4a45a1c1b1f2a9d3e7c4", "status": "done", "source_name": "clip.mp4",
                "media_format": "mp4", "size_bytes": 2097152, "sha256": "4b1d…", "attempts": 1, "verdict": "match",
                "error": None, "created_at": "2026-01-01T00:00:00Z", "started_at": "2026-01-01T00:00:00Z",
                "finished_at": "2026-01-01T00:00:02Z",
                "report": {"path": "clip.mp4", "kind": "video", "duration": 4.0, "verdict": "match",
                           "matches": [{"work_id": 12, "title": "Big Buck Bunny", "holder": "Blender Foundation", "score": 0.97,
                                        "verdict": "match", "segments": [{"query_start": 0.0, "query_end": 4.0, "ref_start": 1.0,
                                                                          "ref_end": 5.0, "score": 0.97}], "evidence": {}}],
                           "provenance": {"signals": []}, "timings": {"total": 1.2}},
                "links": {"self": "/v1/scans/scan_5f0c…", "report_html": "/v1/scans/scan_5f0c…/report.html"},
            }
        }
    )
    id: str
    status: ScanStatus
    source_name: str
    media_format: str
    size_bytes: int
    sha256: str
    attempts: int
    verdict: Literal["match", "similar", "no_match"] | None = None
    error: ErrorBody | None = Field(default=None, description="Why a `failed` scan failed.")
    created_at: UtcDatetime
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
    report: ScanReport | None = Field(default=None, description="Present when `done`.")
    links: ScanLinks


class ScanPage(BaseModel):
    items: list[Scan]
    total: int
    limit: int
    offset: int


# -- opt-out check ------------------------------------------------------------------------
class OptOutMatch(BaseModel):
    work_id: int
    title: str
    holder: str
    opt_out: OptOut
    pdq_distance: int = Field(description="Hamming distance of the PDQ hashes (0..256; a match is at most 31).")
    phash_distance: int | None = Field(default=None, description="Hamming distance of the 64-bit pHashes (images only).")


class OptOutItem(BaseModel):
    index: int = Field(description="Position in the request: files first, then hashes.")
    input: Literal["file", "pdq"]
    name: str | None = Field(default=None, description="Cleaned file name of an uploaded image.")
    pdq: str | None = Field(default=None, description="The PDQ hash checked, 64 hex characters.")
    pdq_quality: int | None = None
    opted_out: bool = Field(description="Whether the item matches a work opted out for the requested scope.")
    match: OptOutMatch | None = None
    error: ErrorBody | None = Field(default=None, description="Why this item could not be checked.")


class OptOutCheckResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "scope": "no_train",
                "items": [
                    {"index": 0, "input": "file", "name": "cat.jpg", "pdq": "f8f0…", "pdq_quality": 100, "opted_out": True,
                     "match": {"work_id": 3, "title": "Cat", "holder": "Alice", "opt_out": {"train": True, "generate": False},
                               "pdq_distance": 6, "phash_distance": 2}, "error": None},
                    {"index": 1, "input": "pdq", "name": None, "pdq": "0000…", "pdq_quality": None, "opted_out": False,
                     "match": None, "error": None},
                ],
            }
        }
    )
    scope: Literal["any", "no_train", "no_generate"]
    items: list[OptOutItem]


class HashCheck(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"pdq": ["f8f0e0c0" * 8], "scope": "no_train"}}
    )
    pdq: list[str] = Field(min_length=1, description="PDQ hashes, 64 hex characters each.")
    scope: Literal["any", "no_train", "no_generate"] = "any"


# -- health ---------------------------------------------------------------------------------
class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"status": "ready", "checks": {"store": "ok", "indexes": "loaded", "worker": "running"}}}
    )
    status: Literal["ready", "not_ready"]
    checks: dict[str, Any]
