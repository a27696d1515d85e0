"""Audio rules and resampling, as the boundary applies them."""

from __future__ import annotations

import audioop
import io
import wave

import numpy as np
import pytest
from riva.client.proto import riva_audio_pb2

from services.asr.audio import AudioError, AudioFormat, AudioInput, Resampler, check_chunk, check_format


def test_linear_pcm_mono_in_range_is_accepted() -> None:
    assert check_format(riva_audio_pb2.LINEAR_PCM, 44_100, 1).sample_rate == 44_100
    assert check_format(riva_audio_pb2.LINEAR_PCM, 8_000, 0).bytes_per_second == 16_000


@pytest.mark.parametrize(
    ("encoding", "rate", "channels", "message"),
    [
        (42, 16_000, 1, "encoding 42 is not supported; send LINEAR_PCM, FLAC, MULAW, ALAW or OGGOPUS"),
        (riva_audio_pb2.MULAW, 0, 1, "encoding MULAW needs sample_rate_hertz"),
        (riva_audio_pb2.LINEAR_PCM, 4_000, 1, "sample_rate_hertz 4000 is out of range; send 8000-48000 Hz"),
        (riva_audio_pb2.LINEAR_PCM, 96_000, 1, "sample_rate_hertz 96000 is out of range"),
        (riva_audio_pb2.LINEAR_PCM, 16_000, 9, "audio_channel_count 9 is not supported; send 1 to 8 channels"),
    ],
)
def test_unsupported_formats_are_refused_with_what_to_send(
    encoding: int, rate: int, channels: int, message: str
) -> None:
    with pytest.raises(AudioError, match=message):
        check_format(encoding, rate, channels)


def test_chunks_must_be_whole_samples_and_bounded() -> None:
    check_chunk(b"\0" * 3200, 3200)
    with pytest.raises(AudioError, match="odd byte count"):
        check_chunk(b"\0" * 3201, 10_000)
    with pytest.raises(AudioError, match="exceeds the 3200-byte limit"):
        check_chunk(b"\0" * 3202, 3200)


def _tone(rate: int, seconds: float, hz: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (8000 * np.sin(2 * np.pi * hz * t)).astype("<i2")


@pytest.mark.parametrize("rate", [8_000, 22_050, 44_100, 48_000])
def test_resampling_keeps_duration_and_pitch_across_any_chunking(rate: int) -> None:
    tone = _tone(rate, 1.0, 440.0)
    whole = Resampler(rate).process(tone)
    r = Resampler(rate)
    pieces = np.concatenate([r.process(tone[i : i + 777]) for i in range(0, len(tone), 777)])
    assert abs(len(whole) - 16_000) <= 2
    assert abs(len(pieces) - len(whole)) <= 1
    n = min(len(whole), len(pieces))
    assert np.max(np.abs(whole[:n].astype(int) - pieces[:n].astype(int))) <= 2  # chunking changes nothing
    spectrum = np.abs(np.fft.rfft(whole[2000:14000]))
    peak_hz = np.argmax(spectrum) * 16_000 / 12_000
    assert abs(peak_hz - 440) < 5


def test_downsampling_removes_what_16k_cannot_carry() -> None:
    high = _tone(48_000, 0.5, 12_000.0)  # above the 8 kHz Nyquist limit of 16 kHz audio
    out = Resampler(48_000).process(high)
    assert np.sqrt(np.mean(out[100:].astype(float) ** 2)) < 0.05 * 8000 / np.sqrt(2)


def _wav_bytes(samples: np.ndarray, rate: int, channels: int = 1) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return out.getvalue()


@pytest.mark.parametrize("split", [1, 7, 44, 45, 1000])
def test_a_wav_header_is_read_wherever_the_chunks_split_it(split: int) -> None:
    tone = _tone(16_000, 0.5, 440.0)
    data = _wav_bytes(tone, 16_000)
    audio = AudioInput(check_format(0, 0, 0))  # the format unset, as NVIDIA's scripts send files
    out = np.concatenate([audio.feed(data[i : i + split]) for i in range(0, len(data), split)] + [audio.flush()])
    assert np.array_equal(out, tone)
    assert audio.rate == 16_000 and audio.seconds == pytest.approx(0.5)


def test_a_stereo_44k_wav_becomes_16k_mono() -> None:
    tone = _tone(44_100, 1.0, 440.0)
    audio = AudioInput(check_format(0, 0, 0))
    out = np.concatenate([audio.feed(_wav_bytes(np.repeat(tone, 2), 44_100, channels=2)), audio.flush()])
    assert abs(len(out) - 16_000) <= 2
    assert np.max(np.abs(out[100:-100].astype(int) - Resampler(44_100).process(tone)[100:-100].astype(int))) <= 2


@pytest.mark.parametrize(
    ("encoding", "decode"), [(riva_audio_pb2.MULAW, audioop.ulaw2lin), (riva_audio_pb2.ALAW, audioop.alaw2lin)]
)
def test_g711_decodes_as_the_standard_tables(encoding: int, decode: object) -> None:
    every_byte = bytes(range(256))
    audio = AudioInput(AudioFormat(16_000, encoding))  # 16 kHz: no resampling between the tables
    expected = np.frombuffer(decode(every_byte, 2), dtype="<i2")  # type: ignore[operator]
    assert np.array_equal(audio.feed(every_byte), expected)


def test_unset_encoding_without_a_header_is_refused_with_what_to_set() -> None:
    with pytest.raises(AudioError, match="no WAV, FLAC or Ogg header"):
        AudioInput(check_format(0, 0, 0)).feed(b"\0\1" * 100)


def test_a_cut_wav_header_is_refused() -> None:
    with pytest.raises(AudioError, match="WAV header ended before its data chunk"):
        audio = AudioInput(check_format(0, 0, 0))
        audio.feed(b"RIFF\0\0\0\0WAVEfmt ")
        audio.flush()


def _ogg_opus(samples: np.ndarray, rate: int) -> bytes:
    """An Ogg/Opus file of these mono samples, encoded with PyAV (libopus)."""
    import av

    out = io.BytesIO()
    with av.open(out, mode="w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=48_000, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def test_ogg_opus_is_decoded_at_the_end_of_the_stream() -> None:
    tone = _tone(48_000, 1.0, 440.0)
    data = _ogg_opus(tone, 48_000)
    audio = AudioInput(check_format(riva_audio_pb2.OGGOPUS, 0, 0))
    assert len(audio.feed(data[:100])) == 0  # a container is decoded whole
    out = np.concatenate([audio.feed(data[100:]), audio.flush()])
    assert abs(len(out) - 16_000) < 800  # the encoder's padding aside, a second at 16 kHz
    spectrum = np.abs(np.fft.rfft(out[2000:14000].astype(float)))
    assert abs(np.argmax(spectrum) * 16_000 / 12_000 - 440) < 5
