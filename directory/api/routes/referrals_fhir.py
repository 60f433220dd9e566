"""A referral as FHIR R4 (a Bundle of a ServiceRequest and a Task), for a health system."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from directory.api.deps import CurrentUser, SessionDep
from directory.api.openapi import errors
from directory.referrals import fhir

router = APIRouter(tags=["referrals"])


class FhirResponse(JSONResponse):
    media_type = fhir.FHIR_JSON


@router.get(
    "/v1/referrals/{referral_id}/fhir",
    response_class=FhirResponse,
    responses={
        200: {"content": {fhir.FHIR_JSON: {}}, "description": "A FHIR R4 Bundle"},
        **errors(404),
    },
)
def get_referral_fhir(
    session: SessionDep, user: CurrentUser, referral_id: uuid.UUID
) -> FhirResponse:
    """The referral as a FHIR R4 Bundle (collection): a ServiceRequest and the Task that tracks
    it, in the HL7 SDOH Clinical Care shape. Seen by whoever may read the referral."""
    export = fhir.load_export(session, user, referral_id)
    return FhirResponse(fhir.bundle(export), headers={"Cache-Control": "private, no-store"})
