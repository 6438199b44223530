"""``livecert serve`` in a real browser: Debian's Chromium, driven by Playwright, with a
genuine ZJU clip as the camera (Chromium's fake capture device playing a Y4M made from it).

What it proves: the page, the camera and microphone permission flow, MediaRecorder's WebM
(VP8, no duration in its header), the upload and the server's verify() work together, and the
result the person sees is the server's, and the ledger records the certification.  The clips
and photos are held out (ZJU subjects 000011M and 000013F, GRID's odd half; the tuning ZJU
subjects are 000001M-000009M).  Chromium loops the clip, so the recording is the clip played
about one and a half times: a real camera's picture, not a real camera's timing.

Screenshots of each page state go to ``LIVECERT_SCREENSHOTS`` (default: the test's temporary
folder).  Skipped with a reason where Chromium or Playwright is missing; a failure under
``CI=true``.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

from livecert.io.audio import read_audio, to_pcm16
from livecert.io.sources import open_source

if TYPE_CHECKING:
    from playwright.sync_api import Page

#: The camera: ZJU subject 000011M with thin glasses; enrolled from a frame of another clip
#: of theirs (FNN), as the identity map pairs them.
CLIP = "videos/zju_eyeblink/42/000011M_FTN.avi"
ENROLL_PHOTO = "photos/same_person/derived_frames/zju_000011M_from_FNN_frame5.png"

#: A held-out ZJU subject's photo (a frame of their FNN clip).
PHOTO = "photos/same_person/derived_frames/zju_000013F_from_FNN_frame7.png"

_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

ADMIN_KEY = "browser-test-admin-key-0123456789"

#: Longest wait for the page to reach a result (recording about 6 s, then the check).
RESULT_TIMEOUT_MS = 60_000


def _missing(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        _missing("Chromium not found (Debian: apt-get install chromium; scripts/test.sh installs it)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("Playwright not installed (pip install -c constraints.txt 'livecert[serve-test]')")
    try:
        import fastapi  # noqa: F401
    except ImportError:
        _missing("the serve extra is not installed (pip install -c constraints.txt 'livecert[serve]')")
    assert path is not None
    return path


def write_y4m(video: Path, out: Path, fps: int = 30) -> tuple[float, float]:
    """``video`` as a Y4M file at ``fps``, each output frame the latest decoded frame by its timestamp.

    Returns
    -------
    start_s, length_s : float
        The clip time of the Y4M's first frame and the Y4M's length, seconds.
    """
    frames: list[tuple[float, np.ndarray]] = []
    with open_source(video) as source:
        for frame in source:
            frames.append((frame.t_s, frame.rgb))
    t0, end = frames[0][0], frames[-1][0]
    h, w = frames[0][1].shape[:2]
    with open(out, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        i, n = 0, round((end - t0) * fps)
        for k in range(n):
            t = t0 + k / fps
            while i + 1 < len(frames) and frames[i + 1][0] <= t:
                i += 1
            fh.write(b"FRAME\n" + cv2.cvtColor(frames[i][1], cv2.COLOR_RGB2YUV_I420).tobytes())
    return t0, n / fps


def write_still_y4m(photo: Path, out: Path, seconds: float = 8.0, fps: int = 30) -> None:
    """A photo held still in front of the camera: the same picture for ``seconds``."""
    from PIL import Image

    rgb = np.asarray(Image.open(photo).convert("RGB"))
    h, w = (rgb.shape[0] // 2) * 2, (rgb.shape[1] // 2) * 2
    frame = cv2.cvtColor(np.ascontiguousarray(rgb[:h, :w]), cv2.COLOR_RGB2YUV_I420).tobytes()
    with open(out, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for _ in range(round(seconds * fps)):
            fh.write(b"FRAME\n" + frame)


def write_wav(out: Path, pcm16: bytes, rate: int = 16_000) -> None:
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm16)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[str]:
    """``livecert serve`` as a user starts it, on a free loopback port (admin key: :data:`ADMIN_KEY`)."""
    data = tmp_path_factory.mktemp("serve-data")
    port = _free_port()
    cmd = [sys.executable, "-m", "livecert", "serve", "--port", str(port), "--data-dir", str(data), "--workers", "1"]
    env = {**os.environ, "LIVECERT_API_KEY": ADMIN_KEY}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError as exc:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read() if proc.stderr else ""
                    raise RuntimeError(f"livecert serve did not start: {err}") from exc
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def camera_files(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("camera")
    y4m, wav = folder / "camera.y4m", folder / "voice.wav"
    write_y4m(data_dir / CLIP, y4m)
    write_wav(wav, bytes(10 * 16_000 * 2))  # silence: blink mode records no sound
    return y4m, wav


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("LIVECERT_SCREENSHOTS", str(tmp_path_factory.mktemp("screenshots"))))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _launch_args(y4m: Path, wav: Path) -> list[str]:
    return [
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={y4m}",
        f"--use-file-for-fake-audio-capture={wav}",
        "--autoplay-policy=no-user-gesture-required",
    ]


@contextlib.contextmanager
def _page_at(chromium: str, url: str, camera: tuple[Path, Path], *, allow_camera: bool = True) -> Iterator[Page]:
    """A Chromium page at ``url``, ready, whose camera and microphone play ``camera`` (allowed or denied)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        extra = [] if allow_camera else ["--deny-permission-prompts"]
        browser = p.chromium.launch(executable_path=chromium, args=[*_launch_args(*camera), *extra])
        try:
            permissions = ["camera", "microphone"] if allow_camera else []
            context = browser.new_context(viewport={"width": 900, "height": 1000}, permissions=permissions)
            page = context.new_page()
            page.goto(url)
            page.wait_for_selector("body[data-state=ready]")
            yield page
        finally:
            browser.close()


def test_genuine_clip_in_blink_mode_is_certified(
    chromium: str, server: str, data_dir: Path, camera_files: tuple[Path, Path], shots: Path
) -> None:
    """The pension office registers and enrolls the person, sends them a link; they certify."""
    import httpx

    admin = {"X-API-Key": ADMIN_KEY}
    person = {"id": "ZJU11", "name": "test", "benefit_type": "enterprise", "region": "330100"}
    r = httpx.post(f"{server}/api/people", json={**person, "registered_on": "2025-06-01"}, headers=admin)
    assert r.status_code == 201, r.text
    photo = (data_dir / ENROLL_PHOTO).read_bytes()
    r = httpx.post(f"{server}/api/people/ZJU11/enrollment", content=photo, headers=admin, timeout=60)
    assert r.status_code == 200 and r.json()["enrolled"], r.text
    session = httpx.post(f"{server}/api/sessions", json={"person_id": "ZJU11", "prompts": 0}, headers=admin).json()
    url = f"{server}{session['page_url'].replace('/#', '/?lang=zh&speak=0#')}"
    with _page_at(chromium, url, camera_files) as page:
        page.screenshot(path=str(shots / "serve-ready.png"))
        page.click("#start")
        page.wait_for_selector("body[data-state=positioning][data-guidance]", timeout=20_000)
        page.screenshot(path=str(shots / "serve-guidance.png"))
        page.wait_for_selector("body[data-state=recording]", timeout=30_000)
        # the server's live guidance saw the face well placed before the recording began
        assert page.get_attribute("body", "data-guidance") == "HOLD_STILL"
        page.wait_for_timeout(1500)
        page.screenshot(path=str(shots / "serve-recording.png"))
        page.wait_for_selector(
            "body[data-state=passed], body[data-state=failed], body[data-state^=error]", timeout=RESULT_TIMEOUT_MS
        )
        page.screenshot(path=str(shots / "serve-result.png"))
        state = page.get_attribute("body", "data-state")
        message = page.inner_text("#message")
        reasons = page.locator("#reasons li").all_inner_texts()
    assert state == "passed", f"page shows {state}: {message} {reasons}"
    assert message == "认证成功"
    status = httpx.get(f"{server}/api/people/ZJU11", headers=admin).json()
    assert status["status"] == "certified" and len(status["attempts"]) == 1
    attempt = status["attempts"][0]
    assert attempt["decision"] == "accepted" and attempt["challenge_id"] is None and attempt["recording_sha256"]


def test_a_blink_session_asks_for_blinks_at_random_moments_by_default(
    chromium: str, server: str, camera_files: tuple[Path, Path], shots: Path
) -> None:
    """A session the page starts without saying how many prompts: two "现在请眨眼" prompts and
    one "现在请张嘴" appear during the recording and the verdict is judged against them.  The
    camera is a recording (a looped held-out clip), which answers them only by chance, so
    either verdict may come; an error may not."""
    with _page_at(chromium, f"{server}/?lang=zh&mode=blink&speak=0", camera_files) as page:
        page.click("#start")
        page.wait_for_selector("body[data-state=recording]", timeout=30_000)
        shown: dict[str, int] = {}
        previous = ""
        while page.get_attribute("body", "data-state") == "recording":
            text = page.inner_text("#prompt")
            if text != previous and text:
                shown[text] = shown.get(text, 0) + 1
                if text == "现在请眨眼。" and shown[text] == 1:
                    page.screenshot(path=str(shots / "serve-blink-prompt.png"))
            previous = text
            page.wait_for_timeout(100)
        page.wait_for_selector(
            "body[data-state=passed], body[data-state=failed], body[data-state^=error]", timeout=RESULT_TIMEOUT_MS
        )
        state = page.get_attribute("body", "data-state")
        codes = [li.get_attribute("data-code") for li in page.locator("#reasons li").all()]
    assert shown == {"现在请眨眼。": 2, "现在请张嘴。": 1}, shown
    on_cue = {"BLINK_NOT_ON_CUE", "MOUTH_NOT_ON_CUE"}
    assert state == "passed" or (state == "failed" and on_cue & set(codes)), (state, codes)


def test_photo_held_up_is_refused_with_its_reason(
    chromium: str, server: str, data_dir: Path, camera_files: tuple[Path, Path], tmp_path: Path, shots: Path
) -> None:
    """A photo in front of the camera does not blink: the page says it was not passed and why."""
    y4m = tmp_path / "photo.y4m"
    write_still_y4m(data_dir / PHOTO, y4m)
    with _page_at(chromium, f"{server}/?lang=zh&mode=blink&prompts=0&speak=0", (y4m, camera_files[1])) as page:
        page.click("#start")
        page.wait_for_selector(
            "body[data-state=passed], body[data-state=failed], body[data-state^=error]", timeout=RESULT_TIMEOUT_MS
        )
        page.screenshot(path=str(shots / "serve-photo-refused.png"))
        state = page.get_attribute("body", "data-state")
        codes = [li.get_attribute("data-code") for li in page.locator("#reasons li").all()]
        texts = page.locator("#reasons li").all_inner_texts()
    assert state == "failed", f"a photo was {state}"
    assert "NO_BLINK" in codes, codes
    assert any("眨眼" in t for t in texts), texts  # the reason in words, in Chinese


def test_camera_permission_denied_is_said(
    chromium: str, server: str, camera_files: tuple[Path, Path], shots: Path
) -> None:
    with _page_at(chromium, f"{server}/?lang=zh&speak=0", camera_files, allow_camera=False) as page:
        page.click("#start")
        page.wait_for_selector("body[data-state=error-denied]", timeout=20_000)
        page.screenshot(path=str(shots / "serve-denied.png"))
        assert "没有摄像头权限" in page.inner_text("#message")
        assert "允许" in page.inner_text("#detail")
        page.click("#lang")
        assert "camera is not allowed" in page.inner_text("#message")


def _held_out_grid_clip(data_dir: Path) -> tuple[Path, str, tuple[float, float]]:
    """The first held-out GRID s1 clip (odd places in path order, as tests/realdata/test_sync_real.py),
    its digit, and when the digit is said (seconds on the clip's timeline)."""
    with open(data_dir / "videos" / "grid" / "grid_transcripts.tsv", newline="") as fh:
        rows = sorted(csv.DictReader(fh, delimiter="\t"), key=lambda r: r["local_path"])
    row = rows[1::2][0]
    said = (float(row["digit_start_s"]), float(row["digit_end_s"]))
    return data_dir / row["local_path"], str(_DIGIT_WORDS.index(row["digit_word"])), said


@pytest.fixture(scope="module")
def pinned_server(tmp_path_factory: pytest.TempPathFactory, chromium: str, data_dir: Path) -> Iterator[tuple[str, str]]:
    """A server in this process whose digits challenges say what the GRID clip says.

    The challenge factory is the app's injection point (``Service.challenge_factory``); the
    server's code path is the production one, only the digits are not random.
    """
    import uvicorn

    from livecert.liveness.challenge import Challenge
    from livecert.serve.app import create_app
    from tests.unit.test_serve import make_service

    _, digit, _ = _held_out_grid_clip(data_dir)
    service = make_service(tmp_path_factory.mktemp("pinned"))
    service.clock = time.time
    service.challenge_factory = lambda *_: Challenge.for_known_digits(digit)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the in-process server did not start"
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}", digit
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_digits_mode_the_server_hears_the_digit(
    chromium: str, pinned_server: tuple[str, str], data_dir: Path, tmp_path: Path, shots: Path
) -> None:
    """A GRID reading as the camera, its digit word as the microphone, in digits mode.

    Chromium loops the picture file and the sound file on their own, and the recording starts
    wherever both loops are, so a recording's sound and picture are not aligned as a real
    camera's are (the whole sentence, looped, came back misheard about one run in eight).  The
    microphone therefore plays only the digit word, cut from the same clip with the
    transcript's timing, once every 1.5 s: every recording holds it several times, whole.
    So this checks the plumbing, not the verdict: the page shows the challenge's digit, the
    recording reaches verify() with its sound, the server hears the digit, and the page shows
    the server's verdict and reasons, whatever it is (the lips do not move with that sound).
    """
    url, digit = pinned_server
    clip, _, (said_from, said_to) = _held_out_grid_clip(data_dir)
    y4m, wav = tmp_path / "grid.y4m", tmp_path / "grid.wav"
    write_y4m(clip, y4m)
    track = read_audio(clip, 16_000)
    assert track is not None, f"{clip} has no sound"
    first = max(0, round((said_from - 0.1 - track.start_s) * 16_000))
    word = track.samples[first : round((said_to + 0.1 - track.start_s) * 16_000)]
    write_wav(wav, to_pcm16(np.pad(word, (0, round(1.5 * 16_000) - len(word)))))
    with _page_at(chromium, f"{url}/?lang=zh&mode=digits&speak=0", (y4m, wav)) as page:
        with page.expect_response(
            lambda r: r.url.split("?")[0].endswith("/recording"), timeout=RESULT_TIMEOUT_MS
        ) as info:
            page.click("#start")
            page.wait_for_selector("body[data-state=recording]", timeout=20_000)
            page.wait_for_timeout(1000)
            assert page.inner_text("#prompt") == digit
            page.screenshot(path=str(shots / "serve-digits.png"))
        result = info.value.json()
        page.wait_for_selector("body[data-state=passed], body[data-state=failed]", timeout=10_000)
        page.screenshot(path=str(shots / "serve-digits-result.png"))
        state = page.get_attribute("body", "data-state")
        shown_reasons = page.locator("#reasons li").all_inner_texts()
    (shots / "serve-digits-result.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    d = result["digits"]
    assert result["mode"] == "digits" and d["expected"] == digit and d["audio"] is True
    assert d["heard"] is not None and digit in d["heard"], f"heard {d['heard']!r}, expected {digit}"
    assert result["meta"]["challenge_nonce"] is not None
    # the page shows the server's verdict and its reasons, as the server wrote them
    assert state == ("passed" if result["passed"] else "failed")
    assert shown_reasons == ([] if result["passed"] else [r["message"] for r in result["reasons"]])
