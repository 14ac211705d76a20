"""Byte parsers: the worked examples of research/protocols.md, resynchronisation, and fuzzing.

Fuzzing properties (hypothesis), for every parser:
* any bytes, in any chunking: never raises, and every item it returns is the decoding of a
  frame that really is in the stream with a correct checksum (checked by a brute-force
  reference that scans every offset);
* valid frames with one mutation (inserted, dropped or flipped bytes) and garbage around
  them: the damage stays local — every frame at least two away from the mutation is decoded.
"""

from __future__ import annotations

import itertools
import struct
from collections import Counter
from collections.abc import Callable, Sequence
from functools import reduce
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers import ascii_line, gy_mcu90614, gy_mcu90640, id_line, modbus_ir, rdm6300
from drivers.base import Counters, DriverError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ_BIG = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def feed_chunks(parser: Any, data: bytes, cuts: Sequence[int]) -> list[Any]:
    """Feed ``data`` split at ``cuts`` (positions, any order) and collect the output."""
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    out: list[Any] = []
    for a, b in itertools.pairwise(points):
        out += parser.feed(data[a:b])
    return out


# Worked examples ---------------------------------------------------------------------------


def test_gy_mcu90614_worked_example_reads_31_92_object_and_33_53_ambient() -> None:
    parser = gy_mcu90614.Parser()
    samples = parser.feed(bytes.fromhex("5A 5A 45 04 0C 78 0D 19 A7"))
    assert samples == [gy_mcu90614.PointSample(31.92, 33.53)]
    assert gy_mcu90614.encode_frame(31.92, 33.53) == bytes.fromhex("5A5A45040C780D19A7")


def test_gy_mcu90614_commands_have_the_documented_sums() -> None:
    assert bytes.fromhex("A5 45 EA") == gy_mcu90614.CMD_CONTINUOUS
    assert bytes.fromhex("A5 15 BA") == gy_mcu90614.CMD_QUERY
    assert bytes.fromhex("A5 AE 53") == gy_mcu90614.CMD_BAUD_9600
    assert bytes.fromhex("A5 AF 54") == gy_mcu90614.CMD_BAUD_115200
    assert bytes.fromhex("A5 51 F6") == gy_mcu90614.CMD_AUTO_AT_POWER_UP_ON
    assert bytes.fromhex("A5 52 F7") == gy_mcu90614.CMD_AUTO_AT_POWER_UP_OFF


def test_gy_mcu90614_bad_sum_is_counted_and_never_read_and_the_next_frame_is() -> None:
    counters = Counters()
    parser = gy_mcu90614.Parser(counters)
    good = bytes.fromhex("5A5A45040C780D19A7")
    bad = good[:-1] + b"\xa8"
    samples = parser.feed(b"\x00\x13" + bad + good[:4])
    samples += parser.feed(good[4:])
    assert samples == [gy_mcu90614.PointSample(31.92, 33.53)]
    assert counters.frames_bad_checksum == 1
    assert counters.frames_ok == 1
    assert counters.bytes_dropped == 2 + len(bad)


def _manual_90640_frame() -> bytes:
    """protocols.md §1.3: the manual's sample pixels, the elided ones filled with 3650."""
    pixels = [0x0E6E, 0x0E69, 0x0E5A] + [0x0E42] * 764 + [0x0E05]
    body = b"\x5a\x5a\x02\x06" + struct.pack("<768h", *pixels) + struct.pack("<h", 0x0E8D)
    return body + bytes.fromhex("1735")


def test_gy_mcu90640_worked_example_checksum_0x3517_and_mirrored_columns() -> None:
    frame = _manual_90640_frame()
    assert len(frame) == 1544
    sample = gy_mcu90640.decode_frame(frame)
    assert sample is not None
    assert sample.ambient_c == pytest.approx(37.25)
    assert sample.frame_c.shape == (24, 32) and sample.frame_c.dtype == np.float32
    # (Col1,Row1) is the upper-RIGHT corner: the first wire pixels land at the right edge.
    assert sample.frame_c[0, 31] == pytest.approx(36.94)
    assert sample.frame_c[0, 30] == pytest.approx(36.89)
    assert sample.frame_c[0, 29] == pytest.approx(36.74)
    assert sample.frame_c[23, 0] == pytest.approx(35.89)  # last wire pixel: lower-left
    assert float(np.median(sample.frame_c)) == pytest.approx(36.50)
    assert gy_mcu90640.encode_frame(sample.frame_c, 37.25) == frame


def test_gy_mcu90640_emissivity_reply_and_commands() -> None:
    parser = gy_mcu90640.Parser()
    assert parser.feed(bytes.fromhex("5A 5A 5F 13")) == [gy_mcu90640.EmissivityReply(0.95)]
    assert {
        9600: bytes.fromhex("A5 15 01 BB"),
        115200: bytes.fromhex("A5 15 02 BC"),
        460800: bytes.fromhex("A5 15 03 BD"),
    } == gy_mcu90640.CMD_BAUD
    rates = [gy_mcu90640.cmd_rate(hz).hex(" ") for hz in (0.5, 1, 2, 4, 8)]
    assert rates == ["a5 25 00 ca", "a5 25 01 cb", "a5 25 02 cc", "a5 25 03 cd", "a5 25 04 ce"]
    assert bytes.fromhex("A5 35 01 DB") == gy_mcu90640.CMD_QUERY_MODE
    assert bytes.fromhex("A5 35 02 DC") == gy_mcu90640.CMD_AUTO_MODE
    assert gy_mcu90640.cmd_emissivity(0.95) == bytes.fromhex("A5 45 5F 49")
    assert bytes.fromhex("A5 55 01 FB") == gy_mcu90640.CMD_READ_EMISSIVITY
    assert bytes.fromhex("A5 65 01 0B") == gy_mcu90640.CMD_SAVE


def test_gy_mcu90640_joins_mid_frame_skips_a_corrupt_frame_and_reads_the_next() -> None:
    counters = Counters()
    parser = gy_mcu90640.Parser(counters)
    frame = _manual_90640_frame()
    corrupt = bytearray(frame)
    corrupt[100] ^= 0x40
    stream = frame[700:] + bytes(corrupt) + b"\x5a\x00\x11" + frame
    out = feed_chunks(parser, stream, [5, 1544, 1600, 3000])
    assert len(out) == 1 and isinstance(out[0], gy_mcu90640.ThermalSample)
    assert counters.frames_bad_checksum == 1
    assert counters.frames_ok == 1


def test_rdm6300_worked_example_reads_card_0011714980() -> None:
    frame = bytes.fromhex("02 30 46 30 30 42 32 43 31 41 34 44 38 03")
    assert rdm6300.Parser().feed(frame) == [rdm6300.Tag("0F00B2C1A4", 11714980)]
    assert rdm6300.encode_frame("0F00B2C1A4") == frame


def test_id_line_accepts_cr_lf_and_crlf_and_the_constructed_example() -> None:
    parser = id_line.Parser(start_synced=True)
    example = bytes.fromhex("34 30 30 36 33 38 31 33 33 33 39 33 31 0D 0A")
    lines = parser.feed(example + b"A1\rB2\nC3\r\n")
    assert [x.text for x in lines] == ["4006381333931", "A1", "B2", "C3"]


def test_id_line_drops_control_characters_and_overlong_lines() -> None:
    counters = Counters()
    parser = id_line.Parser(counters, max_len=16, start_synced=True)
    lines = parser.feed(b"OK1\r\nBA\x07D\r\n" + b"X" * 40 + b"\nOK2\n")
    assert [x.text for x in lines] == ["OK1", "OK2"]
    assert counters.frames_dropped == 2


def test_a_line_port_opened_mid_line_drops_the_fragment_instead_of_misreading_it() -> None:
    counters = Counters()
    ids = id_line.Parser(counters)
    assert [x.text for x in ids.feed(b"3931\r\n4006381333931\r\n")] == ["4006381333931"]
    assert counters.bytes_dropped == 4
    temps = ascii_line.Parser(pattern=ascii_line.DEFAULT_PATTERN)
    # "…C Ambient: 24.10 C" would read as a 24.10 ℃ object with the first-number pattern.
    out = temps.feed(b"C Ambient: 24.10 C\r\nObject: 36.62 C Ambient: 24.10 C\r\n")
    assert out == [ascii_line.LineSample(36.62, None)]


def test_ascii_line_pattern_reads_object_and_ambient_and_counts_misses() -> None:
    counters = Counters()
    parser = ascii_line.Parser(counters, ascii_line.SIM_PATTERN, start_synced=True)
    out = parser.feed(b"Object: 36.62 C Ambient: 24.10 C\r\nhello\r\nObject: -1.5 C Ambient: 3 C\n")
    assert out == [ascii_line.LineSample(36.62, 24.1), ascii_line.LineSample(-1.5, 3.0)]
    assert counters.frames_dropped == 1


def test_ascii_line_pattern_without_object_group_is_refused_with_an_example() -> None:
    with pytest.raises(DriverError, match="object_c"):
        ascii_line.compile_pattern(r"T=(\d+)")


def test_modbus_crc_matches_the_worked_examples() -> None:
    assert modbus_ir.crc16_modbus(bytes.fromhex("01 03 00 00 00 01")) == 0x0A84
    request = bytes.fromhex("01 03 00 12 00 01")
    assert modbus_ir.crc16_modbus(request).to_bytes(2, "little") == bytes.fromhex("24 0F")
    reply = bytes.fromhex("01 03 02 01 73")
    assert modbus_ir.crc16_modbus(reply).to_bytes(2, "little") == bytes.fromhex("F8 31")
    spec = modbus_ir.load_map("calex-pyrousb").object_c
    assert modbus_ir.decode_value([0x0173], spec) == pytest.approx(37.1)


# Fuzzing -----------------------------------------------------------------------------------


def ref_90614(stream: bytes) -> Counter[Any]:
    found: Counter[Any] = Counter()
    for i in range(len(stream) - 8):
        f = stream[i : i + 9]
        if f[:4] == gy_mcu90614.HEADER and sum(f[:8]) & 0xFF == f[8]:
            found[
                gy_mcu90614.PointSample(
                    *(int.from_bytes(f[k : k + 2], "big", signed=True) / 100 for k in (4, 6))
                )
            ] += 1
    return found


def ref_rdm6300(stream: bytes) -> Counter[Any]:
    found: Counter[Any] = Counter()
    for i in range(len(stream) - 13):
        f = stream[i : i + 14]
        body = f[1:13]
        if f[0] != 2 or f[13] != 3 or not all(chr(b) in "0123456789abcdefABCDEF" for b in body):
            continue
        data = bytes.fromhex(body[:10].decode())
        if reduce(lambda a, b: a ^ b, data) == int(body[10:].decode(), 16):
            found[rdm6300.Tag(body[:10].decode().upper(), int.from_bytes(data[1:], "big"))] += 1
    return found


def ref_90640(stream: bytes) -> Counter[Any]:
    found: Counter[Any] = Counter()
    for i in range(len(stream) - 1543):
        sample = gy_mcu90640.decode_frame(stream[i : i + 1544])
        if sample is not None:
            found[(sample.frame_c.tobytes(), sample.ambient_c)] += 1
    return found


def _key_90640(item: Any) -> Any:
    if isinstance(item, gy_mcu90640.ThermalSample):
        return (item.frame_c.tobytes(), item.ambient_c)
    return None


cuts = st.lists(st.integers(min_value=0, max_value=10_000), max_size=6)


@FUZZ
@given(data=st.binary(max_size=400), cut=cuts)
def test_fuzz_gy_mcu90614_random_bytes_never_raise_nor_invent_readings(
    data: bytes, cut: list[int]
) -> None:
    out = feed_chunks(gy_mcu90614.Parser(), data, cut)
    assert not Counter(out) - ref_90614(data)


@FUZZ
@given(data=st.binary(max_size=400), cut=cuts)
def test_fuzz_rdm6300_random_bytes_never_raise_nor_invent_tags(data: bytes, cut: list[int]) -> None:
    out = feed_chunks(rdm6300.Parser(), data, cut)
    assert not Counter(out) - ref_rdm6300(data)


@FUZZ_BIG
@given(data=st.binary(max_size=3200), cut=cuts)
def test_fuzz_gy_mcu90640_random_bytes_never_raise_nor_invent_frames(
    data: bytes, cut: list[int]
) -> None:
    out = feed_chunks(gy_mcu90640.Parser(), data, cut)
    frames = Counter(_key_90640(x) for x in out if _key_90640(x) is not None)
    assert not frames - ref_90640(data)


@FUZZ
@given(data=st.binary(max_size=400), cut=cuts)
def test_fuzz_line_parsers_never_raise_and_only_return_printable_lines(
    data: bytes, cut: list[int]
) -> None:
    for line in feed_chunks(id_line.Parser(), data, cut):
        assert line.text and line.text.isprintable()
        assert line.text.encode() in data
    for sample in feed_chunks(ascii_line.Parser(pattern=ascii_line.SIM_PATTERN), data, cut):
        assert np.isfinite(sample.object_c)


@FUZZ
@given(data=st.binary(max_size=200))
def test_fuzz_modbus_slave_only_answers_requests_with_a_valid_crc(data: bytes) -> None:
    from drivers.sim_devices import ModbusPyrometerDevice

    device = ModbusPyrometerDevice(modbus_ir.load_map("calex-pyrousb"))
    for reply in device.on_host_bytes(data, 0.0):
        assert modbus_ir.crc16_modbus(reply[:-2]) == int.from_bytes(reply[-2:], "little")
    valid = any(
        modbus_ir.crc16_modbus(data[i : i + 6]) == int.from_bytes(data[i + 6 : i + 8], "little")
        for i in range(max(0, len(data) - 7))
    )
    if not valid:
        assert device.sent == []


def mutate(frames: list[bytes], index: int, kind: str, pos: int, byte: int) -> bytes:
    """Frames joined, frame ``index`` mutated at ``pos`` by ``kind``."""
    target = bytearray(frames[index])
    p = pos % len(target)
    if kind == "insert":
        target.insert(p, byte)
    elif kind == "drop":
        del target[p]
    else:
        target[p] ^= byte or 0x01
    return b"".join(frames[:index]) + bytes(target) + b"".join(frames[index + 1 :])


mutation = st.tuples(
    st.sampled_from(["insert", "drop", "flip"]),
    st.integers(min_value=0, max_value=2000),
    st.integers(min_value=0, max_value=255),
)


def _check_local_damage(
    frames: list[bytes],
    expected: list[Any],
    parse: Callable[[bytes], list[Any]],
    index: int,
    mut: tuple[str, int, int],
    prefix: bytes,
) -> None:
    stream = prefix + mutate(frames, index, *mut)
    got = Counter(parse(stream))
    far = [v for k, v in enumerate(expected) if abs(k - index) >= 2]
    assert not Counter(far) - got, "a frame far from the damage was lost"


temps = st.tuples(
    st.floats(min_value=-40, max_value=300, allow_nan=False).map(lambda x: round(x, 2)),
    st.floats(min_value=-40, max_value=85, allow_nan=False).map(lambda x: round(x, 2)),
)


@FUZZ
@given(
    values=st.lists(temps, min_size=1, max_size=8),
    index=st.integers(min_value=0, max_value=7),
    mut=mutation,
    prefix=st.binary(max_size=20),
    cut=cuts,
)
def test_fuzz_gy_mcu90614_mutated_frames_damage_only_their_neighbourhood(
    values: list[tuple[float, float]],
    index: int,
    mut: tuple[str, int, int],
    prefix: bytes,
    cut: list[int],
) -> None:
    frames = [gy_mcu90614.encode_frame(o, a) for o, a in values]
    expected = [gy_mcu90614.PointSample(o, a) for o, a in values]
    index %= len(frames)

    def parse(stream: bytes) -> list[Any]:
        out = feed_chunks(gy_mcu90614.Parser(), stream, cut)
        assert not Counter(out) - ref_90614(stream)
        return out

    _check_local_damage(frames, expected, parse, index, mut, prefix)


tags = st.binary(min_size=5, max_size=5).map(lambda b: b.hex().upper())


@FUZZ
@given(
    values=st.lists(tags, min_size=1, max_size=8),
    index=st.integers(min_value=0, max_value=7),
    mut=mutation,
    prefix=st.binary(max_size=20),
    cut=cuts,
)
def test_fuzz_rdm6300_mutated_frames_damage_only_their_neighbourhood(
    values: list[str], index: int, mut: tuple[str, int, int], prefix: bytes, cut: list[int]
) -> None:
    frames = [rdm6300.encode_frame(t) for t in values]
    expected = [rdm6300.Tag(t, int(t[2:], 16)) for t in values]
    index %= len(frames)

    def parse(stream: bytes) -> list[Any]:
        out = feed_chunks(rdm6300.Parser(), stream, cut)
        assert not Counter(out) - ref_rdm6300(stream)
        return out

    _check_local_damage(frames, expected, parse, index, mut, prefix)


@FUZZ_BIG
@given(
    seeds=st.lists(st.integers(min_value=0, max_value=2**16), min_size=1, max_size=4),
    index=st.integers(min_value=0, max_value=3),
    mut=mutation,
    prefix=st.binary(max_size=20),
    cut=cuts,
)
def test_fuzz_gy_mcu90640_mutated_frames_damage_only_their_neighbourhood(
    seeds: list[int], index: int, mut: tuple[str, int, int], prefix: bytes, cut: list[int]
) -> None:
    frames, expected = [], []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        frame_c = np.round(rng.uniform(-40, 300, (24, 32)), 2).astype(np.float32)
        wire = gy_mcu90640.encode_frame(frame_c, 25.0)
        frames.append(wire)
        decoded = gy_mcu90640.decode_frame(wire)
        assert decoded is not None
        expected.append((decoded.frame_c.tobytes(), decoded.ambient_c))
    index %= len(frames)

    def parse(stream: bytes) -> list[Any]:
        out = [_key_90640(x) for x in feed_chunks(gy_mcu90640.Parser(), stream, cut)]
        return [x for x in out if x is not None]

    _check_local_damage(frames, expected, parse, index, mut, prefix)
