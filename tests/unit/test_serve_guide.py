"""Live guidance of ``livecert serve``: steady words, and the WebSocket on the sample's frames."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="livecert serve needs the serve extra (pip install 'livecert[serve]')")
pytest.importorskip("httpx", reason="the API tests need httpx (the serve-test extra)")

from fastapi.testclient import TestClient  # noqa: E402
from PIL import Image  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from livecert.errors import InputError  # noqa: E402
from livecert.io.sources import open_source  # noqa: E402
from livecert.serve.app import Service, create_app  # noqa: E402
from livecert.serve.guide import MAX_FRAME_SIDE, Steadier, decode_frame  # noqa: E402
from tests.unit.test_serve import make_service  # noqa: E402

from .paths import SAMPLE  # noqa: E402


def jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def test_steadier_ignores_flicker() -> None:
    s = Steadier(hold_s=0.6)
    assert s.feed("NO_FACE", 0.0) == "NO_FACE"
    # a code that comes and goes faster than hold_s never shows
    shown = [s.feed(c, t) for c, t in [("HOLD_STILL", 0.2), ("NO_FACE", 0.4), ("HOLD_STILL", 0.6), ("NO_FACE", 0.8)]]
    assert shown == ["NO_FACE"] * 4
    # one that lasts does
    assert s.feed("HOLD_STILL", 1.0) == "NO_FACE"
    assert s.feed("HOLD_STILL", 1.4) == "NO_FACE"
    assert s.feed("HOLD_STILL", 1.6) == "HOLD_STILL"


def test_decode_frame_limits() -> None:
    assert decode_frame(jpeg(np.zeros((24, 32, 3), np.uint8))).shape == (24, 32, 3)
    with pytest.raises(InputError) as e:
        decode_frame(b"not an image")
    assert e.value.code == "NOT_AN_IMAGE"
    with pytest.raises(InputError) as e:
        decode_frame(jpeg(np.zeros((16, MAX_FRAME_SIDE + 8, 3), np.uint8)))
    assert e.value.code == "FRAME_TOO_LARGE"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    return make_service(tmp_path_factory.mktemp("guide"))


@pytest.fixture(scope="module")
def client(service: Service) -> Iterator[TestClient]:
    with TestClient(create_app(service)) as c:
        yield c


def test_guide_needs_the_session_token(client: TestClient) -> None:
    s = client.post("/api/sessions", json={}).json()
    with (
        pytest.raises(WebSocketDisconnect) as e,
        client.websocket_connect(f"/api/sessions/{s['session_id']}/guide?token=x"),
    ):
        pass
    assert e.value.code == 4401


def test_guide_on_frames(client: TestClient) -> None:
    s = client.post("/api/sessions", json={}).json()
    url = f"/api/sessions/{s['session_id']}/guide?token={s['token']}&lang=zh"
    with client.websocket_connect(url) as ws:
        ws.send_bytes(jpeg(np.zeros((240, 320, 3), np.uint8)))
        first = ws.receive_json()
        assert first["guidance"] in {"NO_FACE", "TOO_DARK"} and first["ready"] is False
        assert first["message"] and first["message"].isascii() is False  # Chinese words
        ws.send_bytes(b"garbage")
        assert ws.receive_json()["error"]["code"] == "NOT_AN_IMAGE"
        seen = []
        with open_source(SAMPLE) as frames:
            for i, frame in enumerate(frames):
                if i % 3 == 0:  # about what the page sends: a few frames a second
                    ws.send_bytes(jpeg(frame.rgb))
                    seen.append(ws.receive_json())
                    time.sleep(0.08)  # words change on the person's clock: a new code must last 0.6 s
                if len(seen) >= 25:
                    break
    assert seen[-1]["ready"] is True and seen[-1]["guidance"] == "HOLD_STILL", seen[-1]
    # steady: the words change a few times at most, not with every frame
    changes = sum(1 for a, b in zip(seen, seen[1:]) if a["guidance"] != b["guidance"])
    assert changes <= 3, [u["guidance"] for u in seen]
