"""The voice message check reads the file's bytes: a real PCM WAV passes with its duration; a
forged, truncated, compressed or too long one is refused with a message, and nothing is saved."""

from __future__ import annotations

import io
import math
import struct
import wave

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from nations.comms import actions, phone
from nations.comms.models import Blast

from .conftest import NationClient


def wav_bytes(seconds: float, *, rate: int = 8000, channels: int = 1, width: int = 2) -> bytes:
    """A 440 Hz tone written by the standard library's wave module."""
    frames = int(seconds * rate)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        samples = (int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(frames))
        out.writeframes(
            b"".join(struct.pack("<h", s) * channels for s in samples)
            if width == 2
            else bytes(frames * channels)
        )
    return buffer.getvalue()


def upload(data: bytes, name: str = "message.wav", content_type: str = "audio/wav"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def test_a_real_wav_passes_with_its_duration():
    info = phone.audio_check(upload(wav_bytes(2.5)))
    assert (info.kind, info.sample_rate, info.channels, info.bits) == ("wav", 8000, 1, 16)
    assert info.seconds == pytest.approx(2.5)
    stereo = phone.audio_check(upload(wav_bytes(1, rate=44100, channels=2)))
    assert stereo.seconds == pytest.approx(1) and stereo.channels == 2
    # Chunks before the format (a LIST of tags, odd-sized and padded) are skipped.
    data = wav_bytes(1)
    tagged = data[:12] + b"LIST\x03\x00\x00\x00abc\x00" + data[12:]
    tagged = tagged[:4] + struct.pack("<I", len(tagged) - 8) + tagged[8:]
    assert phone.audio_check(upload(tagged)).seconds == pytest.approx(1)
    assert phone.audio_check(upload(b"ID3" + b"\x00" * 500, "m.mp3", "audio/mpeg")).kind == "mp3"


def test_a_truncated_wav_is_refused():
    data = wav_bytes(3)
    with pytest.raises(actions.BlastError, match="incomplete"):
        phone.audio_check(upload(data[: len(data) // 2]))
    with pytest.raises(actions.BlastError, match="incomplete"):
        phone.audio_check(upload(data[:30]))  # cut inside the format chunk


def test_a_wrong_or_forged_header_is_refused():
    data = wav_bytes(1)
    with pytest.raises(actions.BlastError, match="MP3 or WAV"):
        phone.audio_check(upload(b"<html>not audio</html>" * 10))  # content type says WAV
    with pytest.raises(actions.BlastError, match="damaged"):
        phone.audio_check(upload(data[:8] + b"AVI " + data[12:]))
    # The old check let this through: RIFF/WAVE then zeros, no format at all.
    with pytest.raises(actions.BlastError, match="damaged"):
        phone.audio_check(upload(b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 28))
    lying_rate = bytearray(data)
    struct.pack_into("<I", lying_rate, 28, 1)  # byte rate of 1 byte/s: hours of "audio"
    with pytest.raises(actions.BlastError, match="damaged"):
        phone.audio_check(upload(bytes(lying_rate)))
    compressed = bytearray(data)
    struct.pack_into("<H", compressed, 20, 0x0055)  # WAVE_FORMAT_MPEGLAYER3
    with pytest.raises(actions.BlastError, match="compressed"):
        phone.audio_check(upload(bytes(compressed)))
    with pytest.raises(actions.BlastError, match="no sound"):
        phone.audio_check(upload(wav_bytes(0)))


def test_a_message_longer_than_the_limit_is_refused(settings):
    assert settings.COMMS_VOICE_AUDIO_MAX_SECONDS == 120
    phone.audio_check(upload(wav_bytes(120)))
    with pytest.raises(actions.BlastError, match=r"lasts 2:05; 2:00 at most"):
        phone.audio_check(upload(wav_bytes(125)))  # 2 MB: under the size limit


@pytest.fixture
def voice_form(in_alpha, twilio):
    from nations.people.models import Segment

    segment = Segment.objects.create(
        name="Lyon", definition={"conditions": [{"field": "city", "op": "eq", "value": "Lyon"}]}
    )
    return lambda audio: {
        "name": "Rappel",
        "sender": "+33756000001",
        "text": "",
        "audio": audio,
        "audience": "segment",
        "segment": segment.pk,
    }


def test_a_forged_file_gets_a_french_error_in_the_panel_and_nothing_is_saved(in_alpha, voice_form):
    client = NationClient(in_alpha, in_alpha.owner)
    client.client.cookies["django_language"] = "fr"
    data = wav_bytes(2)
    response = client.post(
        "/panel/communication/texts/voice/new/",
        voice_form(upload(data[: len(data) - 1000])),
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 200
    assert "Ce fichier audio est incomplet" in response.content.decode()
    assert not Blast.objects.filter(channel="voice").exists()


def test_mp3_bytes_named_wav_are_stored_as_mp3(in_alpha, voice_form):
    client = NationClient(in_alpha, in_alpha.owner)
    mp3 = upload(b"ID3" + b"\x00" * 500, "message.wav", "audio/wav")
    response = client.post("/panel/communication/texts/voice/new/", voice_form(mp3))
    assert response.status_code == 302
    audio = Blast.objects.get(channel="voice").audio
    assert audio.name.endswith("/message.mp3")
    audio.delete(save=False)
