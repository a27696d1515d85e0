"""Audio as the recogniser needs it: validated, decoded, mono, resampled to 16 kHz 16-bit PCM.

Every rule that can refuse audio lives here, each with a message that says what
was wrong and what is accepted, because the caller is usually another program
whose author reads it once, in a log.

Riva's clients send audio in two ways, and both are taken as Riva takes them:
- raw samples with the format in the config (`encoding`, `sample_rate_hertz`,
  `audio_channel_count`): LINEAR_PCM (16-bit), MULAW and ALAW (G.711);
- a file's bytes as they are, header included, with the format left unset (what
  NVIDIA's python-clients scripts have sent since mid-2023): a WAV header (16-bit,
  8-bit, 32-bit float, A-law, mu-law) is read as it arrives, so a WAV stream is
  decoded chunk by chunk; FLAC and Ogg/Opus are decoded with PyAV (the `av`
  package) once the stream ends, so their results come at the end.
A header wins over the config (a client that set a rate and then sent a WAV file
recorded at another one is heard at the file's). More than one channel is mixed
down to mono: the recogniser hears one speaker.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import numpy as np
from riva.client.proto import riva_audio_pb2

from shopvoice.errors import InvalidArgument

DECODER_RATE = 16_000
MIN_RATE, MAX_RATE = 8_000, 48_000
MAX_CHANNELS = 8
# Riva's AudioEncoding values this boundary decodes (OGGOPUS needs PyAV, as FLAC does).
UNSPECIFIED = riva_audio_pb2.ENCODING_UNSPECIFIED
LINEAR_PCM = riva_audio_pb2.LINEAR_PCM
FLAC = riva_audio_pb2.FLAC
MULAW = riva_audio_pb2.MULAW
ALAW = riva_audio_pb2.ALAW
OGGOPUS = riva_audio_pb2.OGGOPUS
ACCEPTED = "LINEAR_PCM, FLAC, MULAW, ALAW or OGGOPUS, or a WAV/FLAC/Ogg file's bytes with the encoding unset"
# Containers decoded whole at the end of the stream: compressed, so a cap on what is buffered.
MAX_CONTAINER_BYTES = 64 * 1024 * 1024


class AudioError(InvalidArgument):
    """Audio the service cannot take; becomes INVALID_ARGUMENT."""


def encoding_name(encoding: int) -> str:
    values = riva_audio_pb2.AudioEncoding.values()
    return riva_audio_pb2.AudioEncoding.Name(encoding) if encoding in values else str(encoding)


@dataclass(frozen=True)
class AudioFormat:
    """What one stream or request promised to send (rate 0: read from the audio's header)."""

    sample_rate: int
    encoding: int = LINEAR_PCM
    channels: int = 1

    @property
    def bytes_per_second(self) -> int:
        width = 1 if self.encoding in (MULAW, ALAW) else 2
        return max(1, self.sample_rate) * width * max(1, self.channels)

    def seconds(self, n_bytes: int) -> float:
        return n_bytes / self.bytes_per_second

    @property
    def raw(self) -> bool:
        """Bytes whose count says their duration (not a header-first or compressed container)."""
        return self.sample_rate > 0 and self.encoding in (UNSPECIFIED, LINEAR_PCM, MULAW, ALAW)


def check_format(encoding: int, sample_rate: int, channels: int) -> AudioFormat:
    """The config's promise, refused early when it cannot be kept. A rate of 0 is allowed where the
    audio may carry a header (encoding unset or LINEAR_PCM, FLAC, OGGOPUS); raw G.711 needs one."""
    if encoding not in (UNSPECIFIED, LINEAR_PCM, FLAC, MULAW, ALAW, OGGOPUS):
        raise AudioError(f"encoding {encoding_name(encoding)} is not supported; send {ACCEPTED}")
    if sample_rate == 0 and encoding in (MULAW, ALAW):
        raise AudioError(f"encoding {encoding_name(encoding)} needs sample_rate_hertz (8000 for telephone audio)")
    if sample_rate and not MIN_RATE <= sample_rate <= MAX_RATE:
        raise AudioError(f"sample_rate_hertz {sample_rate} is out of range; send {MIN_RATE}-{MAX_RATE} Hz")
    if not 0 <= channels <= MAX_CHANNELS:
        raise AudioError(f"audio_channel_count {channels} is not supported; send 1 to {MAX_CHANNELS} channels")
    return AudioFormat(sample_rate, encoding, channels or 1)


def check_chunk(chunk: bytes, max_bytes: int, whole_samples: bool = True) -> None:
    """One message's audio: not more than a message may carry, and (raw 16-bit PCM) whole samples."""
    if len(chunk) > max_bytes:
        raise AudioError(f"audio_content of {len(chunk)} bytes exceeds the {max_bytes}-byte limit; send smaller chunks")
    if whole_samples and len(chunk) % 2:
        raise AudioError(
            f"audio_content has an odd byte count ({len(chunk)}); 16-bit PCM comes in whole 2-byte samples"
        )


def is_container_start(data: bytes) -> bool:
    return data[:4] in (b"RIFF", b"fLaC", b"OggS")


# --- G.711 ------------------------------------------------------------------------------------------


def _mulaw_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    sign, exponent, mantissa = u & 0x80, (u >> 4) & 0x07, u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign, -magnitude, magnitude).astype("<i2")


def _alaw_table() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    sign, exponent, mantissa = a & 0x80, (a >> 4) & 0x07, a & 0x0F
    magnitude = np.where(exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << (exponent - 1))
    return np.where(sign, magnitude, -magnitude).astype("<i2")


MULAW_TABLE = _mulaw_table()
ALAW_TABLE = _alaw_table()


# --- decoding a stream's bytes -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """How a run of bytes holds samples."""

    rate: int
    channels: int
    kind: str  # "pcm16", "pcm8", "float32", "mulaw", "alaw"

    @property
    def width(self) -> int:
        return {"pcm16": 2, "pcm8": 1, "float32": 4, "mulaw": 1, "alaw": 1}[self.kind]

    @property
    def block(self) -> int:
        return self.width * self.channels

    def samples(self, data: bytes) -> np.ndarray:
        """Whole frames of `data` as mono 16-bit samples."""
        if self.kind == "pcm16":
            x = np.frombuffer(data, dtype="<i2")
        elif self.kind == "pcm8":
            x = ((np.frombuffer(data, dtype=np.uint8).astype(np.int16) - 128) << 8).astype("<i2")
        elif self.kind == "float32":
            x = np.clip(np.frombuffer(data, dtype="<f4") * 32767.0, -32768, 32767).astype("<i2")
        elif self.kind == "mulaw":
            x = MULAW_TABLE[np.frombuffer(data, dtype=np.uint8)]
        else:
            x = ALAW_TABLE[np.frombuffer(data, dtype=np.uint8)]
        if self.channels > 1:
            x = x.reshape(-1, self.channels).astype(np.int32).mean(axis=1).round().astype("<i2")
        return x


_WAV_KINDS = {(1, 16): "pcm16", (1, 8): "pcm8", (3, 32): "float32", (6, 8): "alaw", (7, 8): "mulaw"}


class AudioInput:
    """One stream's bytes in, 16 kHz mono 16-bit samples out, chunk by chunk.

    `seconds` is the audio decoded so far, for the limits on a stream's length; `rate`
    the input's own rate once known (0 until a header has been read).
    """

    def __init__(self, fmt: AudioFormat) -> None:
        self.fmt = fmt
        self.buffer = bytearray()  # bytes not yet decoded: a header in the making, a partial frame
        self.layout: _Layout | None = None
        self.container = ""  # "", "wav", "flac" or "ogg"
        self.data_left: int | None = None  # a WAV data chunk's bytes still to come (None: to the end)
        self.resampler: Resampler | None = None
        self.samples_in = 0
        if fmt.encoding in (MULAW, ALAW):
            self._use(_Layout(fmt.sample_rate, fmt.channels, "mulaw" if fmt.encoding == MULAW else "alaw"))
        elif fmt.encoding in (FLAC, OGGOPUS):
            self.container = "flac" if fmt.encoding == FLAC else "ogg"

    @property
    def rate(self) -> int:
        return self.layout.rate if self.layout is not None else 0

    @property
    def seconds(self) -> float:
        return self.samples_in / self.layout.rate if self.layout is not None else 0.0

    @property
    def buffered(self) -> int:
        return len(self.buffer)

    def _use(self, layout: _Layout) -> None:
        if not MIN_RATE <= layout.rate <= MAX_RATE:
            raise AudioError(f"the audio's sample rate {layout.rate} Hz is out of range; send {MIN_RATE}-{MAX_RATE} Hz")
        if not 1 <= layout.channels <= MAX_CHANNELS:
            raise AudioError(f"the audio has {layout.channels} channels; send 1 to {MAX_CHANNELS}")
        self.layout = layout
        self.resampler = Resampler(layout.rate)

    def feed(self, chunk: bytes) -> np.ndarray:
        """The 16 kHz samples this chunk completes (possibly none)."""
        self.buffer += chunk
        if self.layout is None and not self.container:
            self._sniff()
        if self.container in ("flac", "ogg"):
            if len(self.buffer) > MAX_CONTAINER_BYTES:
                raise AudioError(
                    f"more than {MAX_CONTAINER_BYTES // 2**20} MiB of {self.container.upper()} audio in one stream;"
                    " split it, or send LINEAR_PCM"
                )
            return _EMPTY
        if self.layout is None:
            return _EMPTY
        return self._decode_buffer()

    def flush(self) -> np.ndarray:
        """At the end of the stream: what is left (a whole FLAC or Ogg file is decoded here)."""
        if self.container in ("flac", "ogg"):
            data, self.buffer = bytes(self.buffer), bytearray()
            return self._decode_container(data) if data else _EMPTY
        if self.layout is None:
            if self.buffer:
                self._sniff(final=True)
            return _EMPTY
        return self._decode_buffer()

    def _decode_buffer(self) -> np.ndarray:
        assert self.layout is not None and self.resampler is not None
        take = len(self.buffer)
        if self.data_left is not None:
            take = min(take, self.data_left)
        take -= take % self.layout.block
        if take <= 0:
            if self.data_left == 0:
                self.buffer.clear()  # what follows a WAV's data chunk is not audio
            return _EMPTY
        data = bytes(self.buffer[:take])
        del self.buffer[:take]
        if self.data_left is not None:
            self.data_left -= take
        mono = self.layout.samples(data)
        self.samples_in += len(mono)
        return self.resampler.process(mono)

    def _sniff(self, final: bool = False) -> None:
        """Decide what the bytes are from their first few: a WAV, FLAC or Ogg header, or raw samples."""
        head = bytes(self.buffer[:4])
        if len(head) < 4 and not final:
            return
        if head == b"RIFF":
            self._read_wav_header(final)
        elif head == b"fLaC":
            self.container = "flac"
        elif head == b"OggS":
            self.container = "ogg"
        elif self.fmt.sample_rate:  # raw samples: LINEAR_PCM, or the encoding unset with a rate (its default)
            self._use(_Layout(self.fmt.sample_rate, self.fmt.channels, "pcm16"))
        elif self.fmt.encoding == LINEAR_PCM:
            raise AudioError(
                "sample_rate_hertz is unset and the audio has no WAV or FLAC header to read it from; "
                "set sample_rate_hertz, or send the file with its header"
            )
        else:
            raise AudioError(
                "encoding is unset and the audio has no WAV, FLAC or Ogg header to read it from; "
                "set encoding (LINEAR_PCM) and sample_rate_hertz, or send the file with its header"
            )

    def _read_wav_header(self, final: bool) -> None:
        buf = bytes(self.buffer)
        if len(buf) >= 12 and buf[8:12] != b"WAVE":
            raise AudioError("the audio starts with RIFF but is not a WAVE file; send WAV, FLAC or raw PCM")
        pos, fmt_chunk = 12, None
        while pos + 8 <= len(buf):
            chunk_id, size = buf[pos : pos + 4], struct.unpack_from("<I", buf, pos + 4)[0]
            if chunk_id == b"data":
                if fmt_chunk is None:
                    raise AudioError("the WAV file has no fmt chunk before its data; it cannot be read")
                tag, channels, rate, bits = fmt_chunk
                kind = _WAV_KINDS.get((tag, bits))
                if kind is None:
                    raise AudioError(
                        f"WAV audio with format tag {tag} and {bits} bits per sample is not supported; send 16-bit"
                        " PCM, 8-bit PCM, 32-bit float, A-law or mu-law WAV"
                    )
                self._use(_Layout(rate, channels, kind))
                self.data_left = None if size in (0, 0xFFFFFFFF) else size
                del self.buffer[: pos + 8]
                return
            if chunk_id == b"fmt ":
                if pos + 8 + 16 > len(buf):
                    break
                tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", buf, pos + 8)
                if tag == 0xFFFE and size >= 40 and pos + 8 + 26 <= len(buf):  # WAVE_FORMAT_EXTENSIBLE
                    tag = struct.unpack_from("<H", buf, pos + 8 + 24)[0]
                elif tag == 0xFFFE:
                    break
                fmt_chunk = (tag, channels, rate, bits)
            pos += 8 + size + (size & 1)
        if final or len(buf) > 1 << 20:
            raise AudioError("the WAV header ended before its data chunk; the file is cut short or not a WAV file")

    def _decode_container(self, data: bytes) -> np.ndarray:
        """A whole FLAC or Ogg/Opus file, decoded and resampled to 16 kHz mono by PyAV."""
        try:
            import av
        except ImportError:
            raise AudioError(
                f"{self.container.upper()} audio needs PyAV (the `av` package), which this server lacks; "
                "send WAV or LINEAR_PCM, or install the asr extra"
            ) from None
        pieces: list[np.ndarray] = []
        try:
            with av.open(io.BytesIO(data), mode="r") as container:
                if not container.streams.audio:
                    raise AudioError(f"the {self.container.upper()} data holds no audio stream")
                stream = container.streams.audio[0]
                rate = stream.codec_context.sample_rate or stream.rate or 0
                resampler = av.AudioResampler(format="s16", layout="mono", rate=DECODER_RATE)
                for frame in container.decode(stream):
                    for out in resampler.resample(frame):
                        pieces.append(out.to_ndarray().reshape(-1))
                for out in resampler.resample(None):
                    pieces.append(out.to_ndarray().reshape(-1))
        except AudioError:
            raise
        except (av.error.FFmpegError, ValueError) as exc:
            raise AudioError(
                f"the {self.container.upper()} audio could not be decoded ({exc}); send WAV or PCM"
            ) from None
        samples = np.concatenate(pieces).astype("<i2") if pieces else _EMPTY
        self.layout = _Layout(rate or DECODER_RATE, 1, "pcm16")
        self.samples_in = round(len(samples) * self.layout.rate / DECODER_RATE)
        return samples


_EMPTY = np.zeros(0, dtype="<i2")


def rms(samples: np.ndarray) -> float:
    """Root-mean-square level of 16-bit samples (0 for none)."""
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0


def pcm16(chunk: bytes) -> np.ndarray:
    samples: np.ndarray = np.frombuffer(chunk, dtype="<i2")
    return samples


class Resampler:
    """Streaming resampler to 16 kHz: low-pass FIR when downsampling, then linear interpolation.

    State (filter history, fractional position) carries across chunks, so chunk
    boundaries leave no clicks and any chunking gives the same samples.
    """

    TAPS = 63

    def __init__(self, rate_in: int, rate_out: int = DECODER_RATE) -> None:
        self.identity = rate_in == rate_out
        self.step = rate_in / rate_out
        self.pos = 0.0
        self.prev = 0.0
        if rate_in > rate_out:
            cutoff = 0.45 * rate_out / rate_in
            n = np.arange(self.TAPS) - (self.TAPS - 1) / 2
            self.fir: np.ndarray | None = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(self.TAPS)
            self.fir = self.fir / self.fir.sum()
            self.history = np.zeros(self.TAPS - 1)
        else:
            self.fir = None

    def process(self, samples: np.ndarray) -> np.ndarray:
        if self.identity:
            return samples.astype("<i2", copy=False)
        x = samples.astype(np.float64)
        if self.fir is not None:
            padded = np.concatenate([self.history, x])
            self.history = padded[-(self.TAPS - 1) :]
            x = np.convolve(padded, self.fir, mode="valid")
        buf = np.concatenate([[self.prev], x])
        last = len(buf) - 1
        positions = np.arange(self.pos, last, self.step)
        out = np.interp(positions, np.arange(len(buf)), buf)
        self.pos = (positions[-1] + self.step - last) if len(positions) else self.pos - last
        self.prev = buf[-1]
        resampled: np.ndarray = np.clip(np.round(out), -32768, 32767).astype("<i2")
        return resampled
