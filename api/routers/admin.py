"""Rights holders and API keys (admin keys only)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status
from sqlalchemy import func, select

from api.auth import Principal, issue_key, revoke_key
from api.deps import get_service, require
from api.errors import ApiError, not_found
from api.schemas import Id, Holder, HolderCreate, HolderList, KeyCreate, KeyCreated, KeyInfo, KeyList, errors
from api.service import Service
from reference_db.models import ApiKey, RightsHolder, Work

router = APIRouter(prefix="/v1", tags=["admin"])
admin_only = require("admin")


def _holder(row: RightsHolder, works: int = 0) -> Holder:
    return Holder(id=row.id, name=row.name, created_at=row.created_at, works=works)


def _key(row: ApiKey, holder_name: str | None) -> KeyInfo:
    return KeyInfo(
        id=row.id, role=row.role, holder_id=row.holder_id, holder=holder_name, name=row.name,
        created_at=row.created_at, revoked_at=row.revoked_at,
    )


@router.post(
    "/holders", status_code=201, response_model=Holder, responses=errors(401, 403, 409, 422),
    summary="Create a rights holder",
)
def create_holder(body: HolderCreate, response: Response, _: Principal = Depends(admin_only), service: Service = Depends(get_service)) -> Holder:
    name = body.name.strip()
    if not name:
        raise ApiError(422, "invalid_request", "name: must not be blank")
    with service.store.session() as session:
        if session.scalar(select(RightsHolder).where(RightsHolder.name == name)) is not None:
            raise ApiError(409, "conflict", f"a rights holder named {name!r} exists already")
        holder = RightsHolder(name=name)
        session.add(holder)
        session.flush()
        result = _holder(holder)
    response.headers["Location"] = f"/v1/holders/{result.id}"
    return result


@router.get("/holders", response_model=HolderList, responses=errors(401, 403), summary="List rights holders")
def list_holders(_: Principal = Depends(admin_only), service: Service = Depends(get_service)) -> HolderList:
    with service.store.session() as session:
        rows = session.execute(
            select(RightsHolder, func.count(Work.id)).outerjoin(Work, Work.holder_id == RightsHolder.id)
            .group_by(RightsHolder.id).order_by(RightsHolder.id)
        ).all()
        return HolderList(items=[_holder(holder, works) for holder, works in rows])


@router.get("/holders/{holder_id}", response_model=Holder, responses=errors(401, 403, 404), summary="Get a rights holder")
def get_holder(holder_id: Id, _: Principal = Depends(admin_only), service: Service = Depends(get_service)) -> Holder:
    with service.store.session() as session:
        holder = session.get(RightsHolder, holder_id)
        if holder is None:
            raise not_found("rights holder")
        works = session.scalar(select(func.count()).select_from(Work).where(Work.holder_id == holder_id)) or 0
        return _holder(holder, works)


@router.post(
    "/keys", status_code=201, response_model=KeyCreated, responses=errors(401, 403, 404, 422),
    summary="Issue an API key (the secret is shown once)",
)
def create_key(body: KeyCreate, response: Response, _: Principal = Depends(admin_only), service: Service = Depends(get_service)) -> KeyCreated:
    with service.store.session() as session:
        holder = None
        if body.holder_id is not None:
            holder = session.get(RightsHolder, body.holder_id)
            if holder is None:
                raise not_found("rights holder")
        elif body.holder:
            holder = session.scalar(select(RightsHolder).where(RightsHolder.name == body.holder.strip()))
            if holder is None:
                raise not_found("rights holder")
        if body.role == "rights_holder" and holder is None:
            raise ApiError(422, "invalid_request", "a rights_holder key needs holder_id or holder")
        if body.role != "rights_holder" and holder is not None:
            raise ApiError(422, "invalid_request", f"a {body.role} key is not bound to a rights holder")
        issued = issue_key(session, body.role, holder, body.name)
    response.headers["Location"] = f"/v1/keys/{issued.id}"
    return KeyCreated(
        id=issued.id, role=issued.role, holder_id=issued.holder_id, holder=issued.holder_name, name=issued.name,
        created_at=issued.created_at, revoked_at=None, key=issued.secret,
    )


@router.get("/keys", response_model=KeyList, responses=errors(401, 403), summary="List API keys (never their secrets)")
def list_keys(_: Principal = Depends(admin_only), service: Service = Depends(get_service)) -> KeyList:
    with service.store.session() as session:
        rows = session.execute(
            select(ApiKey, RightsHolder.name).outerjoin(RightsHolder, ApiKey.holder_id == RightsHolder.id).order_by(ApiKey.id)
        ).all()
        return KeyList(items=[_key(key, name) for key, name in rows])


@router.delete(
    "/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401, 403, 404),
    summary="Revoke an API key (it stops working at once)",
)
def delete_key(key_id: Id, _: Principal = Depends(admin_only), service: Service = Depends(get_service)) -> Response:
    with service.store.session() as session:
        if revoke_key(session, key_id) is None:
            raise not_found("API key")
    return Response(status_code=204)
