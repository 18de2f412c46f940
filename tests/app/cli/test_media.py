"""`flask mint-token` for the media API's internal callers and admins."""

from __future__ import annotations

import jwt


def test_mint_token_can_grant_permissions_and_admin(app, runner, client):
    result = runner.invoke(args=["mint-token", "billing", "--permission", "media_internal"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["permissions"] == ["media_internal"] and "is_admin" not in claims
    answer = client.post(
        "/api/v1/media/invoices/generate-pdf",
        json={"invoice_id": "nope"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 422  # past the permission check, refused for its body

    admin = runner.invoke(args=["mint-token", "root", "--admin"]).output.strip()
    assert jwt.decode(admin, options={"verify_signature": False})["is_admin"] is True
    plain = runner.invoke(args=["mint-token", "alice"]).output.strip()
    plain_claims = jwt.decode(plain, options={"verify_signature": False})
    assert "permissions" not in plain_claims and "is_admin" not in plain_claims
