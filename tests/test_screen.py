"""The kiosk screen: PNG encoding without a browser, HTTP contract, and the page in real Chromium.

Browser tests save 800×480 screenshots to artifacts/screen-*.png (the kiosk's 7-inch panel).
"""

import json
import re
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from conftest import require

import edge.screen as screen_module
from edge.screen import OUTCOMES, KioskScreen, ScreenResult
from edge.screen_frame import (
    BLACKBODY_BGR,
    FACE_BGR,
    render_thermal_bgr,
    render_thermal_png,
)

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The kiosk's Chromium runs with this too, so the fever tone needs no tap first.
    "--autoplay-policy=no-user-gesture-required",
]
VIEWPORT = {"width": 800, "height": 480}
FACE_BOX = (12, 6, 9, 11)
BLACKBODY_BOX = (27, 18, 3, 3)


def gate_scene(face_c: float = 36.4) -> npt.NDArray[np.float32]:
    """A 32×24 ℃ frame like the MLX90640 sees at the gate: cool background, a face, a blackbody."""
    rows, cols = np.mgrid[0:24, 0:32]
    frame = 22.0 + 0.08 * rows  # floor warmer than ceiling, as in a gate porch
    face = ((cols - 16.5) / 4.5) ** 2 + ((rows - 11.5) / 5.5) ** 2 <= 1.0
    frame = np.where(face, face_c - 1.5 + 0.5 * np.cos(rows / 3.0), frame)
    frame[9:11, 14:16] = face_c  # the inner canthi, the hottest spot on a face
    frame[18:21, 27:30] = 35.0  # blackbody reference
    return np.asarray(frame, dtype=np.float32)


def result(outcome: str, temperature_c: float | None, name: str | None = "李明") -> ScreenResult:
    return ScreenResult(
        outcome=outcome,  # type: ignore[arg-type]  # tests also feed outcomes as plain strings
        temperature_c=temperature_c,
        person_name=name,
        person_id="S2023-0412",
        message="",
        ts_utc=datetime.now(UTC),
    )


def decode(png: bytes) -> npt.NDArray[np.uint8]:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a PNG OpenCV can read"
    return np.asarray(image, dtype=np.uint8)


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


@pytest.fixture
def screen() -> Iterator[KioskScreen]:
    kiosk_screen = KioskScreen("127.0.0.1", 0, "东门 1 号通道", result_hold_s=30)
    kiosk_screen.start()
    try:
        yield kiosk_screen
    finally:
        kiosk_screen.stop()


# -- the thermal image, no browser ---------------------------------------------------------------


def test_thermal_view_is_upscaled_to_320_px_keeping_the_sensor_aspect() -> None:
    png = render_thermal_png(gate_scene(), FACE_BOX, BLACKBODY_BOX)
    image = decode(png)
    assert png.startswith(b"\x89PNG")
    assert image.shape == (240, 320, 3)
    wide = render_thermal_bgr(np.full((192, 256), 30.0, np.float32), None, None)
    assert wide.shape == (240, 320, 3)


def test_hot_pixels_are_bright_and_cold_pixels_dark() -> None:
    frame = np.full((24, 32), 20.0, np.float32)
    frame[:, 16:] = 40.0
    image = render_thermal_bgr(frame, None, None)
    cold_b, cold_g, cold_r = (int(v) for v in image[120, 40])
    hot_b, hot_g, hot_r = (int(v) for v in image[120, 280])
    assert cold_b + cold_g + cold_r < 40, "20 ℃ is the black end of the scale"
    assert hot_r > 240 and hot_g > 200, "40 ℃ is the pale-yellow end of the scale"
    assert hot_r > hot_b


def test_a_fever_face_is_brighter_than_a_normal_one_on_the_fixed_scale() -> None:
    def face_brightness(face_c: float) -> float:
        image = render_thermal_bgr(gate_scene(face_c), None, None)
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        return float(grey[95:110, 140:160].mean())  # around the canthi, upscaled ×10

    assert face_brightness(38.5) > face_brightness(36.0) + 10


def test_out_of_range_and_dead_pixels_are_clipped_not_wrapped() -> None:
    frame = np.full((24, 32), 25.0, np.float32)
    frame[0, 0] = np.nan
    frame[0, 1] = -40.0
    frame[0, 2] = 200.0
    image = render_thermal_bgr(frame, None, None)
    coldest = render_thermal_bgr(np.full((24, 32), 20.0, np.float32), None, None)[0, 0]
    hottest = render_thermal_bgr(np.full((24, 32), 40.0, np.float32), None, None)[0, 0]
    assert (image[5, 5] == coldest).all()
    assert (image[5, 15] == coldest).all()
    assert (image[5, 25] == hottest).all()


def test_face_and_blackbody_boxes_are_drawn_around_their_pixels() -> None:
    frame = np.full((24, 32), 24.0, np.float32)
    image = render_thermal_bgr(frame, FACE_BOX, BLACKBODY_BOX)
    background = render_thermal_bgr(frame, None, None)[0, 0]
    x, y, w, h = (10 * v for v in FACE_BOX)  # ×10 upscale for a 32-pixel-wide sensor
    assert tuple(image[y + 1, x + w // 2]) == FACE_BGR  # top edge
    assert tuple(image[y + h - 1, x + w // 2]) == FACE_BGR  # bottom edge
    assert tuple(image[y + h // 2, x + 1]) == FACE_BGR  # left edge
    assert (image[y + h // 2, x + w // 2] == background).all(), "the box is an outline"
    bx, by, bw, bh = (10 * v for v in BLACKBODY_BOX)
    assert tuple(image[by + 1, bx + bw // 2]) == BLACKBODY_BGR
    assert (image[by + bh // 2, bx + bw // 2] == background).all()


def test_show_frame_rejects_a_wrong_shape_naming_the_shape_expected() -> None:
    kiosk_screen = KioskScreen("127.0.0.1", 0, "gate")
    with pytest.raises(ValueError, match=r"shape \(H, W\).*got shape \(24, 32, 3\)"):
        kiosk_screen.show_frame(np.zeros((24, 32, 3), np.float32), None, None)
    with pytest.raises(ValueError, match=r"shape \(H, W\).*got shape \(768,\)"):
        kiosk_screen.show_frame(np.zeros(768, np.float32), None, None)
    with pytest.raises(ValueError, match=r"float ℃.*uint16"):
        kiosk_screen.show_frame(np.zeros((24, 32), np.uint16), None, None)
    with pytest.raises(ValueError, match=r"face_box_px \(300, 200, 90, 110\).*32×24 frame"):
        kiosk_screen.show_frame(gate_scene(), (300, 200, 90, 110), None)
    with pytest.raises(ValueError, match="blackbody_box_px must be a tuple of 4 ints"):
        kiosk_screen.show_frame(gate_scene(), None, (1.5, 2, 3, 3))  # type: ignore[arg-type]


def test_bad_results_and_status_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="outcome 'ok' is not one of"):
        result("ok", 36.5)
    with pytest.raises(ValueError, match="finite"):
        result("pass", float("nan"))
    with pytest.raises(ValueError, match="timezone-aware"):
        ScreenResult("pass", 36.5, None, None, "", datetime(2026, 11, 22, 8, 0))
    with pytest.raises(ValueError, match="link 'up' is not one of"):
        KioskScreen("127.0.0.1", 0, "gate").set_status({"cam0": True}, "up")
    with pytest.raises(ValueError, match="language 'fr'"):
        KioskScreen("127.0.0.1", 0, "gate", language="fr")


# -- HTTP contract, no browser -------------------------------------------------------------------


def test_frame_png_before_any_frame_is_a_404_with_a_message(screen: KioskScreen) -> None:
    status, content_type, body = get(f"{screen.url}frame.png")
    assert status == 404
    assert content_type.startswith("application/json")
    assert "no thermal frame yet" in json.loads(body)["message"]


def test_frame_is_encoded_when_asked_for_once_per_frame(
    screen: KioskScreen, monkeypatch: pytest.MonkeyPatch
) -> None:
    encodings: list[int] = []

    def counting_render(*args: Any) -> bytes:
        encodings.append(1)
        return render_thermal_png(*args)

    monkeypatch.setattr(screen_module, "render_thermal_png", counting_render)
    for _ in range(50):
        screen.show_frame(gate_scene(), FACE_BOX, BLACKBODY_BOX)
    assert encodings == [], "show_frame only stores the frame; the pipeline never encodes"
    first = get(f"{screen.url}frame.png")
    second = get(f"{screen.url}frame.png")
    assert first[0] == second[0] == 200
    assert first[1] == "image/png"
    assert len(encodings) == 1, "a frame already encoded is served from the cache"
    screen.show_frame(gate_scene(38.0), FACE_BOX, None)
    assert get(f"{screen.url}frame.png")[2] != first[2]
    assert len(encodings) == 2


def test_show_frame_keeps_a_copy_not_the_callers_buffer(screen: KioskScreen) -> None:
    buffer = np.full((24, 32), 20.0, np.float32)
    screen.show_frame(buffer, None, None)
    buffer[:] = 40.0  # a driver reusing its buffer for the next frame
    image = decode(get(f"{screen.url}frame.png")[2])
    assert int(image[100, 100].sum()) < 40, "the frame shown is the one given, still cold"


def test_a_stopped_camera_is_not_shown_as_live() -> None:
    kiosk_screen = KioskScreen("127.0.0.1", 0, "gate", frame_stale_s=0.5)
    kiosk_screen.start()
    try:
        kiosk_screen.show_frame(gate_scene(), None, None)
        assert get(f"{kiosk_screen.url}frame.png")[0] == 200
        threading.Event().wait(0.8)
        status, _, body = get(f"{kiosk_screen.url}frame.png")
        assert status == 404
        assert "check that the thermal camera is connected" in json.loads(body)["message"]
    finally:
        kiosk_screen.stop()


def test_state_holds_the_result_for_a_while_then_returns_to_idle() -> None:
    kiosk_screen = KioskScreen("127.0.0.1", 0, "gate", language="en", result_hold_s=1.0)
    kiosk_screen.start()
    try:
        kiosk_screen.show_result(result("fever_suspect", 38.2))
        kiosk_screen.set_status({"ir0": False, "cam0": True}, "offline")
        state = json.loads(get(f"{kiosk_screen.url}state")[2])
        assert state["language"] == "en"
        assert state["result"]["outcome"] == "fever_suspect"
        assert state["result"]["temperature_c"] == 38.2
        assert 0 < state["result"]["hold_ms"] <= 1000
        assert state["status"] == {"devices": {"cam0": True, "ir0": False}, "link": "offline"}
        threading.Event().wait(1.2)
        assert json.loads(get(f"{kiosk_screen.url}state")[2])["result"] is None
    finally:
        kiosk_screen.stop()


def test_event_stream_starts_with_a_snapshot_and_carries_each_result(screen: KioskScreen) -> None:
    with urllib.request.urlopen(f"{screen.url}events", timeout=5) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        assert stream.readline() == b"retry: 1000\n"
        stream.readline()
        assert stream.readline() == b"event: state\n"
        assert json.loads(stream.readline().removeprefix(b"data: "))["result"] is None
        stream.readline()
        screen.show_result(result("pass", 36.4))
        assert stream.readline() == b"event: result\n"
        data = json.loads(stream.readline().removeprefix(b"data: "))
        assert (data["outcome"], data["person_name"]) == ("pass", "李明")
        stream.readline()
        screen.set_status({"cam0": True}, "online")
        screen.set_status({"cam0": True}, "online")  # unchanged: no second event
        screen.set_status({"cam0": False}, "online")
        assert stream.readline() == b"event: status\n"
        assert json.loads(stream.readline().removeprefix(b"data: "))["devices"] == {"cam0": True}
        stream.readline()
        assert stream.readline() == b"event: status\n"
        assert json.loads(stream.readline().removeprefix(b"data: "))["devices"] == {"cam0": False}
        stream.readline()
        screen.stop()
        assert stream.read() == b"", "stop() ends open streams instead of hanging them"


def test_unknown_path_is_a_404_with_a_message(screen: KioskScreen) -> None:
    status, content_type, body = get(f"{screen.url}admin")
    assert status == 404 and content_type.startswith("application/json")
    assert "try /, /state, /events or /frame.png" in json.loads(body)["message"]


# -- the page in a real headless Chromium --------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require(shutil.which("chromium") is not None, "chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, screen: KioskScreen) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    opened.goto(screen.url)
    wait_until_connected(opened)
    yield opened
    context.close()
    # The only expected console errors are the 404s of /frame.png before a frame exists.
    assert [e for e in errors if "404" not in e] == []


def wait_until_connected(page: Any) -> None:
    """Until the page's event stream has its snapshot: results from then on arrive as events."""
    page.locator('body[data-connected="true"]').wait_for(state="attached", timeout=5000)
    assert page.locator("#label").inner_text() == "请看向摄像头"


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"screen-{name}.png"))


def test_idle_page_asks_to_look_at_the_camera_in_chinese(page: Any, screen: KioskScreen) -> None:
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("#hint").inner_text() == "请刷卡或出示二维码"
    assert page.locator("#kiosk-name").inner_text() == "东门 1 号通道"
    assert page.locator("#no-frame").inner_text() == "暂无热像"
    screenshot(page, "idle")


def test_fever_shows_within_a_second_with_temperature_name_and_tone(
    page: Any, screen: KioskScreen
) -> None:
    screen.show_frame(gate_scene(38.2), FACE_BOX, BLACKBODY_BOX)
    screen.set_status({"cam0": True, "ir0": True, "card0": True}, "online")
    screen.show_result(result("fever_suspect", 38.2))
    page.locator("#label").filter(has_text="体温异常").wait_for(timeout=1000)
    assert page.locator("#temperature").inner_text() == "38.2 °C"
    assert page.locator("#person").inner_text() == "李明"
    assert page.locator("#hint").inner_text() == "请到临时观察点复测"
    assert page.locator("body").get_attribute("data-tones") == "1"
    page.locator('body[data-audio="running"]').wait_for(state="attached", timeout=1000)
    background = page.locator("#result").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(198, 40, 40)"
    page.locator("#frame").wait_for(state="visible", timeout=2000)
    screenshot(page, "fever-zh")


def test_english_switch_changes_every_label(page: Any, screen: KioskScreen) -> None:
    screen.show_result(result("fever_suspect", 38.2, name="Li Ming"))
    page.locator("#label").filter(has_text="体温异常").wait_for(timeout=1000)
    page.locator("#lang").click()
    assert page.locator("#label").inner_text() == "FEVER"
    assert page.locator("#hint").inner_text() == "Please go to the observation point for a re-check"
    assert page.locator("#lang").inner_text() == "中文"
    assert page.locator("#temperature").inner_text() == "38.2 °C"
    screen.set_status({"cam0": True}, "connecting")
    page.locator("#link").filter(has_text="Network").filter(has_text="connecting").wait_for()
    screen.show_frame(gate_scene(38.2), FACE_BOX, BLACKBODY_BOX)
    page.locator("#frame").wait_for(state="visible", timeout=2000)
    screenshot(page, "fever-en")
    page.locator("#lang").click()
    assert page.locator("#label").inner_text() == "体温异常"


def test_pass_and_remeasure_show_in_their_colours(page: Any, screen: KioskScreen) -> None:
    screen.show_frame(gate_scene(36.3), FACE_BOX, BLACKBODY_BOX)
    screen.set_status({"cam0": True, "ir0": True}, "online")
    screen.show_result(result("pass", 36.3, name="王小红"))
    page.locator("#label").filter(has_text="通过").wait_for(timeout=1000)
    assert page.locator("#person").inner_text() == "王小红"
    assert page.locator("body").get_attribute("data-tones") == "0", "no tone on a pass"
    page.locator("#frame").wait_for(state="visible", timeout=2000)
    screenshot(page, "pass")
    remeasure = ScreenResult(
        "remeasure", None, None, "S2023-0577", "未检测到面部 · 请摘下帽子", datetime.now(UTC)
    )
    screen.show_result(remeasure)
    page.locator("#label").filter(has_text="请复测").wait_for(timeout=1000)
    assert page.locator("#temperature").is_hidden(), "no temperature when none was measured"
    assert page.locator("#person").inner_text() == "S2023-0577", "the id when no name is known"
    assert page.locator("#message").inner_text() == "未检测到面部 · 请摘下帽子"
    screenshot(page, "remeasure")


def test_thermal_frame_shows_as_an_image(page: Any, screen: KioskScreen) -> None:
    screen.show_frame(gate_scene(), FACE_BOX, BLACKBODY_BOX)
    image = page.locator("#frame")
    image.wait_for(state="visible", timeout=2000)
    size = image.evaluate("e => [e.naturalWidth, e.naturalHeight, e.clientWidth, e.clientHeight]")
    assert size == [320, 240, 320, 240]
    assert page.locator("#no-frame").is_hidden()


def test_device_offline_and_link_offline_are_shown(page: Any, screen: KioskScreen) -> None:
    screen.set_status({"cam0": True, "ir0": False}, "offline")
    offline = page.locator('#status li[data-device="ir0"]')
    offline.filter(has_text="离线").wait_for(timeout=1000)
    assert offline.get_attribute("class") == "device offline"
    assert page.locator('#status li[data-device="cam0"]').inner_text() == "cam0 在线"
    assert page.locator("#link").inner_text() == "网络 离线"
    assert page.locator("body").get_attribute("data-link") == "offline"
    screenshot(page, "offline")


def test_result_returns_to_idle_after_the_hold_time(browser: Any) -> None:
    kiosk_screen = KioskScreen("127.0.0.1", 0, "gate", result_hold_s=0.5)
    kiosk_screen.start()
    context = browser.new_context(viewport=VIEWPORT)
    try:
        opened = context.new_page()
        opened.goto(kiosk_screen.url)
        wait_until_connected(opened)
        kiosk_screen.show_result(result("pass", 36.5))
        opened.locator("#label").filter(has_text="通过").wait_for(timeout=1000)
        opened.locator("#label").filter(has_text="请看向摄像头").wait_for(timeout=2000)
        assert opened.locator("#temperature").is_hidden()
    finally:
        context.close()
        kiosk_screen.stop()


def test_a_second_screen_on_a_busy_port_says_so(screen: KioskScreen) -> None:
    second = KioskScreen("127.0.0.1", screen.port, "gate")
    with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{screen.port}.*port 0"):
        second.start()


def test_page_says_when_its_screen_service_is_gone(browser: Any) -> None:
    # Its own page: once the service is gone, failed requests in the console are expected.
    kiosk_screen = KioskScreen("127.0.0.1", 0, "gate")
    kiosk_screen.start()
    context = browser.new_context(viewport=VIEWPORT)
    try:
        opened = context.new_page()
        opened.goto(kiosk_screen.url)
        wait_until_connected(opened)
        assert opened.locator("#screen-lost").is_hidden()
        kiosk_screen.stop()
        lost = opened.locator("#screen-lost")
        lost.wait_for(state="visible", timeout=3000)
        assert lost.inner_text() == "本机服务未连接"
    finally:
        context.close()
        kiosk_screen.stop()


def test_every_outcome_has_words_in_both_languages(page: Any, screen: KioskScreen) -> None:
    def texts() -> list[str]:
        return [page.locator(f"#{part}").inner_text() for part in ("label", "hint", "link", "lang")]

    cjk = re.compile(r"[\u4e00-\u9fff]")
    for outcome in sorted(OUTCOMES):
        screen.show_result(result(outcome, 36.9, name=None))
        page.locator(f'body[data-outcome="{outcome}"]').wait_for(state="attached", timeout=1000)
        chinese = texts()
        assert all(cjk.search(text) for text in chinese[:3]), (outcome, chinese)
        page.locator("#lang").click()
        english = texts()
        assert all(text and not cjk.search(text) for text in english[:3]), (outcome, english)
        assert not any("Hint" in text or "_" in text for text in chinese + english), "a raw key"
        page.locator("#lang").click()
