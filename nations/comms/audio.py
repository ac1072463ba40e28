"""What a voice message file really is, read from its bytes (never from its name or the
browser's content type): an MP3, or a RIFF/WAVE file of uncompressed PCM whose duration we can
compute. The panel's recorder encodes its takes as 8 kHz 16-bit mono WAV (static/comms/
recorder.js); uploads go through the same check."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import BinaryIO

WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
# The sub-format GUID of WAVE_FORMAT_EXTENSIBLE files that hold plain PCM.
KSDATAFORMAT_SUBTYPE_PCM = bytes.fromhex("0100000000001000800000aa00389b71")


class AudioError(ValueError):
    """The file is not a voice message phones can play. `reason` is one of: "format" (neither
    MP3 nor WAV), "wav-header" (RIFF/WAVE header or fmt chunk missing or inconsistent),
    "wav-codec" (WAV but not PCM), "truncated" (data shorter than the header says), "empty"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AudioInfo:
    kind: str  # "wav" or "mp3"
    seconds: float | None = None  # known for WAV
    sample_rate: int | None = None
    channels: int | None = None
    bits: int | None = None


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    data = stream.read(n)
    if len(data) < n:
        raise AudioError("truncated")
    return data


def _pcm_info(fmt: tuple[int, int, int, int, int, int] | None, data_size: int) -> AudioInfo:
    if fmt is None:
        raise AudioError("wav-header")  # the data chunk must come after its format
    code, channels, rate, byte_rate, block_align, bits = fmt
    if code != WAVE_FORMAT_PCM:
        raise AudioError("wav-codec")
    if not (
        1 <= channels <= 2
        and 8000 <= rate <= 96000
        and bits in (8, 16, 24, 32)
        and block_align == channels * bits // 8
        and byte_rate == rate * block_align
    ):
        raise AudioError("wav-header")
    if data_size < block_align:
        raise AudioError("empty")
    return AudioInfo(
        kind="wav", seconds=data_size / byte_rate, sample_rate=rate, channels=channels, bits=bits
    )


def _wav_info(stream: BinaryIO, size: int) -> AudioInfo:
    head = _read_exact(stream, 12)
    riff_size = struct.unpack("<I", head[4:8])[0]
    if riff_size + 8 > size:
        raise AudioError("truncated")
    fmt: tuple[int, int, int, int, int, int] | None = None
    offset = 12
    while offset + 8 <= size:
        chunk_id, chunk_size = struct.unpack("<4sI", _read_exact(stream, 8))
        offset += 8
        if offset + chunk_size > size:
            raise AudioError("truncated")
        if chunk_id == b"data":
            return _pcm_info(fmt, chunk_size)
        padded = chunk_size + (chunk_size & 1)  # chunks are word-aligned
        if chunk_id == b"fmt ":
            if chunk_size < 16:
                raise AudioError("wav-header")
            body = _read_exact(stream, chunk_size)
            stream.seek(padded - chunk_size, 1)
            code, channels, rate, byte_rate, block_align, bits = struct.unpack("<HHIIHH", body[:16])
            if code == WAVE_FORMAT_EXTENSIBLE and body[24:40] == KSDATAFORMAT_SUBTYPE_PCM:
                code = WAVE_FORMAT_PCM
            fmt = (code, channels, rate, byte_rate, block_align, bits)
        else:
            stream.seek(padded, 1)
        offset += padded
    raise AudioError("truncated" if fmt else "wav-header")


def audio_info(stream: BinaryIO, size: int) -> AudioInfo:
    """Identify a voice message from its bytes; raise AudioError with the reason. The stream is
    left at its start."""
    stream.seek(0)
    try:
        head = stream.read(12)
        stream.seek(0)
        if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
            return _wav_info(stream, size)
        if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
            return AudioInfo(kind="mp3")
        if head[:4] == b"RIFF":
            raise AudioError("wav-header")
        raise AudioError("format")
    finally:
        stream.seek(0)


def duration_label(seconds: float) -> str:
    """2:05 for 125 seconds (rounded up: a 120.4 s message is not 2:00)."""
    whole = math.ceil(seconds - 0.05)
    return f"{whole // 60}:{whole % 60:02d}"
