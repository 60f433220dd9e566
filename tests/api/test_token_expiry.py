"""Bearer tokens expire DIRECTORY_TOKEN_DAYS after they are made (they never did)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from directory.accounts.models import ApiToken
from directory.accounts.service import create_user, hash_token


def test_a_token_older_than_its_lifetime_is_refused(client: TestClient, session: Session) -> None:
    _, token = create_user(session, email="aging@example.org", role="mentor", program="Aging")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/follow-ups", headers=headers).status_code == 200
    made = dt.datetime.now(dt.UTC) - dt.timedelta(days=91)
    session.execute(
        update(ApiToken).where(ApiToken.token_hash == hash_token(token)).values(created_at=made)
    )
    session.commit()
    refused = client.get("/v1/follow-ups", headers=headers)
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]
    settings = client.app.state.settings  # type: ignore[attr-defined]
    client.app.state.settings = settings.model_copy(update={"token_days": 0})  # type: ignore[attr-defined]
    try:
        assert client.get("/v1/follow-ups", headers=headers).status_code == 200  # 0: never
    finally:
        client.app.state.settings = settings  # type: ignore[attr-defined]
