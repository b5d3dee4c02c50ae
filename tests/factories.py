"""Test helpers: GraphQL documents as constants, and factories with keyword defaults."""

from __future__ import annotations

import io
import struct
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image

TOMANG = (-6.169348, 106.789581)
DEPOK = (-6.40, 106.82)

SIGN_UP = """
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) {
    session { accessToken refreshToken expiresIn user { id email phone displayName role } }
    errors { code message field }
  }
}
"""

LOG_IN = """
mutation LogIn($login: String!, $password: String!) {
  logIn(login: $login, password: $password) {
    session { accessToken refreshToken user { id role } }
    errors { code message }
  }
}
"""

REFRESH = """
mutation Refresh($token: String!) {
  refreshToken(refreshToken: $token) {
    session { accessToken refreshToken }
    errors { code message }
  }
}
"""

REQUEST_UPLOAD = """
mutation Upload($contentType: String!, $byteSize: Int!) {
  requestPhotoUpload(contentType: $contentType, byteSize: $byteSize) {
    upload { key url fields expiresAt maxBytes }
    errors { code message field }
  }
}
"""

CREATE_REPORT = """
mutation Create($input: CreateReportInput!) {
  createReport(input: $input) {
    report {
      id status statusLabel description anonymous routingDistanceM
      location { lat lon accuracyM }
      category { code nameEn }
      kelurahan { name code kecamatan { name } kota { name } }
      kecamatan { name } kota { name }
      unit { code kind name }
      reporter { displayName }
      photos { id status url thumbnailUrl width height errorCode }
      history { fromStatus toStatus at }
    }
    errors { code message field }
  }
}
"""

REPORT = """
query Report($id: ID!) {
  report(id: $id) {
    id status anonymous description location { lat lon accuracyM }
    reporter { displayName }
    photos { id status url thumbnailUrl width height errorCode }
  }
}
"""

MY_REPORTS = """
query Mine($first: Int!, $after: String) {
  myReports(first: $first, after: $after) {
    edges { cursor node { id description } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@dataclass
class Citizen:
    token: str
    refresh_token: str
    user_id: str
    email: str
    password: str


class Api:
    """A GraphQL client over any httpx transport (in-process ASGI or a real server)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        response = await self.raw(query, variables, token=token)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def sign_up(
        self, *, email: str | None = None, password: str = "correct horse battery", name: str = "Warga"
    ) -> Citizen:
        email = email or f"warga-{uuid.uuid4().hex[:12]}@example.id"
        body = await self.gql(SIGN_UP, {"input": {"email": email, "password": password, "displayName": name}})
        payload = body["data"]["signUp"]
        assert payload["errors"] == [], payload
        session = payload["session"]
        return Citizen(session["accessToken"], session["refreshToken"], session["user"]["id"], email, password)

    async def upload_photo(self, citizen: Citizen, data: bytes, *, content_type: str = "image/jpeg") -> str:
        body = await self.gql(
            REQUEST_UPLOAD, {"contentType": content_type, "byteSize": max(len(data), 1)}, token=citizen.token
        )
        upload = body["data"]["requestPhotoUpload"]["upload"]
        async with httpx.AsyncClient() as s3:
            response = await s3.post(
                upload["url"], data=upload["fields"], files={"file": ("photo", data, content_type)}
            )
        # No success_action_status in the policy: S3 answers a stored upload with 204.
        assert response.status_code == 204, response.text
        return str(upload["key"])

    async def create_report(self, citizen: Citizen, **overrides: Any) -> dict[str, Any]:
        body = await self.gql(CREATE_REPORT, {"input": report_input(**overrides)}, token=citizen.token)
        assert "errors" not in body, body
        result: dict[str, Any] = body["data"]["createReport"]
        return result


def report_input(
    *,
    client_request_id: str | None = None,
    category: str = "garbage",
    description: str = "Tumpukan sampah di pinggir jalan",
    lat: float = TOMANG[0],
    lon: float = TOMANG[1],
    accuracy_m: float | None = 8.0,
    photo_keys: list[str] | None = None,
    anonymous: bool = False,
    confidential: bool | None = None,
) -> dict[str, Any]:
    extra = {"confidential": confidential} if confidential is not None else {}
    return {
        **extra,
        "clientRequestId": client_request_id or str(uuid.uuid4()),
        "category": category,
        "description": description,
        "location": {"lat": lat, "lon": lon, "accuracyM": accuracy_m},
        "photoKeys": photo_keys or [],
        "anonymous": anonymous,
    }


def jpeg_with_gps(*, size: tuple[int, int] = (640, 480), orientation: int | None = None) -> bytes:
    """A JPEG carrying EXIF with GPS coordinates, a camera model and optionally an orientation tag."""
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((20, 20, 220), (0, 0, size[0] // 2, size[1] // 4))
    exif = Image.Exif()
    exif[0x0110] = "Jakarta Phone X"  # Model
    if orientation is not None:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1] = "S"
    gps[2] = (6.0, 10.0, 9.65)
    gps[3] = "E"
    gps[4] = (106.0, 47.0, 22.5)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), comment=b"secret comment")
    return out.getvalue()


def jpeg_with_marker(marker: str) -> bytes:
    """A phone's JPEG (EXIF with GPS, XMP, a comment) whose every metadata block carries ``marker``: whatever
    keeps any of those blocks keeps the marker, so searching an object's bytes for it finds the leak."""
    source = Image.open(io.BytesIO(jpeg_with_gps()))
    exif = source.getexif()
    exif[0x010E] = marker  # ImageDescription
    exif.get_ifd(0x8825)[0x001C] = marker  # GPSAreaInformation
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:description>{marker}</dc:description></x:xmpmeta>'
    out = io.BytesIO()
    source.save(out, format="JPEG", exif=exif.tobytes(), comment=marker.encode(), xmp=xmp.encode())
    return out.getvalue()


def png_bytes(size: tuple[int, int] = (64, 48), mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, format="PNG")
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A well-formed PNG whose IHDR declares width x height over a few bytes of IDAT: cheap to build and to upload,
    and what a decompression bomb looks like to the checks that read the header."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")
    )
