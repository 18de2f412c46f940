"""URL signing for GCS: a key when there is one, else the IAM Credentials signBlob API."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import requests
from google.api_core.exceptions import GoogleAPIError
from google.auth import credentials as auth_credentials
from google.auth import crypt
from google.auth.credentials import Signing
from google.auth.exceptions import GoogleAuthError
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from services.core.errors import StorageUnavailable

DEFAULT_IAM_ENDPOINT = "https://iamcredentials.googleapis.com"
_UNAVAILABLE = (GoogleAPIError, GoogleAuthError, requests.RequestException)


class IamBlobSigner(crypt.Signer, Signing):
    """Signs through the IAM Credentials signBlob API, for credentials without a key."""

    def __init__(
        self,
        credentials: auth_credentials.Credentials,
        *,
        endpoint: str = DEFAULT_IAM_ENDPOINT,
        email: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._credentials = credentials
        self._endpoint = endpoint.rstrip("/")
        self._email = email
        self._timeout = timeout
        self._session = requests.Session()

    @property
    def key_id(self) -> str | None:
        """IAM picks the key; there is no id to announce."""
        return None

    @property
    def signer(self) -> crypt.Signer:
        """This object signs for itself."""
        return self

    @property
    def signer_email(self) -> str:
        """The account to sign as: configured, or the runtime credentials' own."""
        if self._email is None:
            email = getattr(self._credentials, "service_account_email", None)
            if email == "default":
                # Metadata-server credentials learn their real email on refresh.
                self._refresh()
                email = getattr(self._credentials, "service_account_email", None)
            if email in (None, "default"):
                raise StorageUnavailable(
                    "no service account to sign URLs as: set GCS_SIGNING_SERVICE_ACCOUNT"
                )
            self._email = email
        return self._email

    def sign(self, message: bytes | str) -> bytes:
        """Sign through IAM."""
        return self.sign_bytes(message)

    def sign_bytes(self, message: bytes | str) -> bytes:
        """POST the bytes to signBlob and return the decoded signature."""
        if isinstance(message, str):
            message = message.encode()
        url = f"{self._endpoint}/v1/projects/-/serviceAccounts/{self.signer_email}:signBlob"
        headers = {"Content-Type": "application/json"}
        payload = {"payload": base64.b64encode(message).decode("ascii")}
        try:
            self._credentials.before_request(Request(self._session), "POST", url, headers)
            response = self._session.post(url, json=payload, headers=headers, timeout=self._timeout)
            if response.status_code != 200:
                raise StorageUnavailable(f"IAM signBlob failed: HTTP {response.status_code}")
            return base64.b64decode(response.json()["signedBlob"])
        except (*_UNAVAILABLE, KeyError, ValueError) as exc:
            raise StorageUnavailable(f"IAM signBlob failed: {exc}") from exc

    def _refresh(self) -> None:
        try:
            self._credentials.refresh(Request(self._session))
        except _UNAVAILABLE as exc:
            raise StorageUnavailable(f"cannot refresh credentials: {exc}") from exc


def choose_signer(
    credentials: auth_credentials.Credentials,
    *,
    key_file: str | None = None,
    service_account_email: str | None = None,
    iam_endpoint: str = DEFAULT_IAM_ENDPOINT,
) -> Signing:
    """Pick what signs URLs: a key file, the credentials themselves, or IAM signBlob."""
    if key_file:
        return service_account.Credentials.from_service_account_file(key_file)
    can_sign = isinstance(credentials, Signing) and getattr(credentials, "signer", None)
    if can_sign and service_account_email in (None, credentials.signer_email):
        return credentials
    # Cloud Run and other metadata-server credentials hold no private key.
    return IamBlobSigner(credentials, endpoint=iam_endpoint, email=service_account_email)


def v4_expires_at(url: str) -> datetime:
    """When a V4 signed URL expires: its X-Goog-Date plus X-Goog-Expires, as GCS judges it."""
    query = dict(parse_qsl(urlsplit(url).query))
    signed_at = datetime.strptime(query["X-Goog-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return signed_at + timedelta(seconds=int(query["X-Goog-Expires"]))
