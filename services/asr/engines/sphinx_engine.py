"""The CPU engine: streams cut into utterances here, decoded by pocketsphinx in the decoding processes.

This side (in the server process) resamples, endpoints each 10 ms frame, and
turns the decoders' answers into Riva responses; decoder_pool.py runs the
decoding. An utterance ends at the caller's stop window, or sooner, after a
short pause, when the words so far are a whole phrase of the grammar: after
ASR_CLOSED_PHRASE_PAUSE_MS when the grammar allows no further word ("... fifty
dollars"), after ASR_PHRASE_PAUSE_MS when it does ("... ninety", then maybe
"nine"). For a command that is the difference between a final ~0.15 s and
~0.35 s after the speaker stops.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import replace

import numpy as np
from prometheus_client import Counter
from riva.client.proto import riva_asr_pb2 as rasr

from services.asr import grammar
from services.asr.audio import AudioError, AudioFormat, Resampler, pcm16
from services.asr.config import AsrSettings
from services.asr.denoise import SpectralGate
from services.asr.endpointing import FRAME_MS, FRAME_SAMPLES, MIN_RMS, Endpointer, EndpointSettings, Event
from services.asr.engines import whisper
from services.asr.engines.decoder_pool import DecoderPool
from services.asr.engines.sphinx import GENERIC_MODEL, GRAMMAR_MODEL, LANGUAGES, DecodingOptions, Transcript
from services.asr.vocabulary import Vocabulary
from shopvoice import log
from shopvoice.errors import InvalidArgument

FEED_FRAMES = 10  # 100 ms
# Which wait ended each utterance: how often the phrase pauses do their job, and so whether
# ASR_PHRASE_PAUSE_MS / ASR_CLOSED_PHRASE_PAUSE_MS are worth their risk on real traffic.
ENDS = Counter("sv_asr_utterance_ends_total", "Utterances by what ended them", ["by"])
# Speech that starts again within the caller's stop window after a pause ended the utterance before
# it (the caller would have heard one utterance). Its final is not sent: in noise, the gate can make a
# stop closure inside "... four eight two" a pause, and the rest, forced onto the grammar alone, came
# back as "undo" or "no" (7 of 600 noisy dev files), commands of their own.
CONTINUATIONS = Counter(
    "sv_asr_continuations_dropped_total",
    "Utterances that resumed one a pause had ended, within the caller's stop window; their finals are not sent",
)
ENDED_BY = {
    Event.SHORT_PAUSE: "closed_phrase_pause",
    Event.PAUSE: "phrase_pause",
    Event.END: "stop_window",
}


# Boosted phrases (speech_contexts) a request may add to the grammar.
MAX_BOOSTED_PHRASES = 100


def boosted_phrases(config: rasr.RecognitionConfig) -> tuple[str, ...]:
    """The request's speech_contexts phrases with a positive boost, as grammar words: lower case,
    letters and apostrophes ("Yoga Mat" -> "yoga mat"). A word the pronouncing dictionary lacks
    drops its phrase (grammar.build). A negative boost (Riva: say it less) adds nothing."""
    phrases = {
        " ".join(re.findall(r"[a-z']+", phrase.lower()))
        for context in config.speech_contexts
        if context.boost >= 0
        for phrase in context.phrases
    }
    phrases.discard("")
    if len(phrases) > MAX_BOOSTED_PHRASES:
        raise InvalidArgument(
            f"{len(phrases)} boosted phrases (speech_contexts); this engine takes up to {MAX_BOOSTED_PHRASES}"
        )
    return tuple(sorted(phrases))


class SphinxEngine:
    """Grammar-constrained pocketsphinx with a generic language model for free speech."""

    languages = LANGUAGES
    takes_audio_as_sent = False  # the boundary decodes the audio to 16 kHz PCM for it

    def __init__(
        self,
        options: DecodingOptions,
        workers: int,
        interim_interval_ms: int,
        max_silence_seconds: float,
        phrase_pause_ms: int,
        closed_phrase_pause_ms: int,
        denoise: bool = True,
        continuation_max_ms: int = 500,
        whisper_path: str = "",
        whisper_threads: int = 2,
        fallback_max_wait_s: float = 0.0,
    ) -> None:
        self.continuation_max_ms = continuation_max_ms
        self.denoise = denoise
        self.heard = grammar.heard_vocabulary(options.vocabulary, options.names)
        self.pool = DecoderPool(
            replace(options, vocabulary=self.heard), workers, whisper_path, whisper_threads, fallback_max_wait_s
        )
        self.interim_interval_s = interim_interval_ms / 1000
        self.max_silence_seconds = max_silence_seconds
        self.phrase_pause_ms = phrase_pause_ms
        self.closed_phrase_pause_ms = closed_phrase_pause_ms

    @classmethod
    def from_settings(
        cls,
        settings: AsrSettings,
        vocabulary: Vocabulary,
        workers: int = 0,
        max_streams: int = 0,
        decoder_overrides: tuple[tuple[str, object], ...] = (),
    ) -> SphinxEngine:
        """The engine as the server runs it from its settings; a bench may set the decoding
        processes, the stream slots made ready and decoder options (0: the settings' own)."""
        workers = workers or settings.decoding_processes
        whisper_path = ""
        if settings.open_vocabulary == "auto":
            if whisper.available():
                whisper_path = whisper.open_vocabulary_path()
            else:
                log.get().warning("open-vocabulary engine off: faster-whisper is not installed (make models)")
        options = DecodingOptions(
            vocabulary,
            use_nlu_phrases=settings.phrases == "auto",
            comfort_noise_rms=settings.comfort_noise_rms,
            comfort_noise_below_db=settings.comfort_noise_below_db,
            fallback_confidence=settings.fallback_confidence,
            decoders=-(-(max_streams or settings.max_streams) // workers),  # every stream slot has its decoder ready
            decoder_overrides=decoder_overrides,
            reject=settings.reject,
            reject_gap=settings.reject_score_gap,
            reject_gap_short=settings.reject_score_gap_short,
            open_vocabulary=bool(whisper_path),
            names=settings.grammar_names,
        )
        return cls(
            options,
            workers,
            settings.interim_interval_ms,
            settings.max_silence_seconds,
            settings.phrase_pause_ms,
            settings.closed_phrase_pause_ms,
            settings.denoise,
            settings.continuation_max_ms,
            whisper_path,
            settings.open_vocabulary_threads,
            settings.open_vocabulary_max_wait_s,
        )

    def wait_ready(self, timeout_s: float = 120.0) -> list[int]:
        """Block until every decoding process is ready; their pids."""
        return self.pool.wait_ready(timeout_s)

    def set_vocabulary(self, vocabulary: Vocabulary) -> None:
        """Swap in a grammar for new catalog words; streams already running keep their decoder. Only the
        part of the catalog the grammar hears travels to the decoding processes (SKU shapes, the name
        class: grammar.heard_vocabulary), and a change outside it (an older product renamed or archived)
        builds nothing. A new product is the newest, so its title enters the name class and a grammar is
        built; its SKU, when its prefix is heard by pattern, the serving grammar hears meanwhile."""
        heard = grammar.heard_vocabulary(vocabulary, self.pool.options.names)
        if heard == self.heard:
            return
        self.heard = heard
        self.pool.set_vocabulary(heard)

    async def close(self) -> None:
        await self.pool.close()

    def models(self) -> list[rasr.RivaSpeechRecognitionConfigResponse.Config]:
        """Each model twice, as Riva lists a model deployed for both: "online" (StreamingRecognize) and
        "offline" (Recognize); NVIDIA's scripts list the models of the type they use."""
        Config = rasr.RivaSpeechRecognitionConfigResponse.Config
        common = {"language_code": "en-US", "sample_rate_range": "8000-48000", "engine": "sphinx"}
        kinds = {
            "online": {"type": "online", "streaming": "true"},
            "offline": {"type": "offline", "streaming": "false"},
        }
        return [
            Config(model_name=name, parameters={**common, **kind, "decoder": decoder})
            for kind in kinds.values()
            for name, decoder in ((GRAMMAR_MODEL, "grammar"), (GENERIC_MODEL, "ngram"))
        ]

    def _model_of(self, config: rasr.RecognitionConfig) -> str:
        name = config.model.lower()
        if name in ("", "grammar", GRAMMAR_MODEL):
            return GRAMMAR_MODEL
        if name in ("generic", GENERIC_MODEL):
            return GENERIC_MODEL
        raise InvalidArgument(f"model {config.model!r} is not served; use {GRAMMAR_MODEL} or {GENERIC_MODEL}")

    async def streaming(
        self,
        config: rasr.StreamingRecognitionConfig,
        fmt: AudioFormat,
        chunks: AsyncIterator[bytes],
        live: bool = True,
    ) -> AsyncIterator[rasr.StreamingRecognizeResponse]:
        """live: a caller's stream, closed after ASR_MAX_SILENCE_SECONDS without speech; Recognize's
        audio is all there already, and silence in it is an empty result."""
        rc = config.config
        model_name = self._model_of(rc)
        # free speech has no phrases to be complete: the generic model always waits out the stop window
        grammar = model_name == GRAMMAR_MODEL
        pause_ms = self.phrase_pause_ms if grammar else 0
        closed_pause_ms = self.closed_phrase_pause_ms if grammar else 0
        try:
            endpoint_settings = EndpointSettings.from_riva(
                rc.endpointing_config,
                phrase_pause_ms=pause_ms,
                closed_phrase_pause_ms=closed_pause_ms,
                continuation_max_ms=self.continuation_max_ms,
            )
        except ValueError as exc:
            raise InvalidArgument(str(exc)) from None
        endpointer = Endpointer(endpoint_settings)
        gate = SpectralGate(quiet_rms=MIN_RMS) if self.denoise else None
        audio = self._audio(fmt, chunks, gate)
        preroll: deque[np.ndarray] = deque(maxlen=endpoint_settings.start_history_ms // FRAME_MS + 10)
        # The pause's own frames, decoded once more after a phrase that ends early, so the final search
        # settles as with a longer silence (see DecoderHost.end). Twice the pause is enough: on 60 test-set
        # commands x clean/SNR 10/8 kHz, 88/180 exact with 120 ms of padding, 85/180 with the rest of a
        # 500 ms window, 88/180 without the early end; longer padding also grows the final lattice search.
        # An end at the short pause gets the same trailing silence in all (its pause, then its frames
        # repeated), so a closed phrase's final is searched as at the long pause, for a few ms more decoding.
        pause: deque[np.ndarray] = deque(maxlen=max(1, pause_ms // FRAME_MS))
        trailing_ms = max(pause_ms, min(2 * pause_ms, endpoint_settings.stop_history_ms))

        def padding(frames: int) -> bytes:
            """Silence to decode after an end at a pause of this many frames (the last ones fed)."""
            samples = (trailing_ms - frames * FRAME_MS) * FRAME_SAMPLES // FRAME_MS
            return np.resize(np.concatenate(list(pause)[-frames:]), max(0, samples)).tobytes()

        remainder = np.zeros(0, dtype="<i2")
        frames_seen = 0
        silence_frames = 0
        utterances = 0
        in_utterance = False
        last_interim = 0.0
        words_wanted = rc.enable_word_time_offsets

        def result(
            text: str, final: bool, stability: float, t: Transcript | None = None
        ) -> rasr.StreamingRecognizeResponse:
            alt = rasr.SpeechRecognitionAlternative(transcript=text, language_code=["en-US"])
            others = []
            if t is not None:
                alt.confidence = t.confidence
                if words_wanted:
                    alt.words.extend(
                        rasr.WordInfo(word=w, start_time=s, end_time=e, confidence=c) for w, s, e, c in t.words
                    )
                others = [
                    rasr.SpeechRecognitionAlternative(transcript=other, language_code=["en-US"])
                    for other in t.alternatives[1:]
                ]
            return rasr.StreamingRecognizeResponse(
                results=[
                    rasr.StreamingRecognitionResult(
                        alternatives=[alt, *others],
                        is_final=final,
                        stability=stability,
                        channel_tag=1,
                        audio_processed=frames_seen * FRAME_MS / 1000,
                    )
                ]
            )

        feed: list[np.ndarray] = []  # frames of the utterance not yet sent to the decoder
        decoder = self.pool.open(model_name, boosted_phrases(rc), max(1, rc.max_alternatives))
        try:
            async for samples in audio:
                if gate is not None and gate.mode == "gating":  # decided before the first samples come out
                    endpointer.tail_floor = 0.0
                remainder = np.concatenate([remainder, samples]) if len(remainder) else samples
                n_frames = len(remainder) // FRAME_SAMPLES
                for i in range(n_frames):
                    frame = remainder[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]
                    frames_seen += 1
                    event = endpointer.feed(frame)
                    if not in_utterance:
                        preroll.append(frame)
                        silence_frames += 1
                        if event is Event.START:
                            silence_frames = 0
                            in_utterance = True
                            if not endpointer.continues:
                                utterances += 1
                                start = list(preroll)[-(endpointer.start_frames + 5) :]
                                await decoder.start((frames_seen - len(start)) * FRAME_MS)
                                feed = start
                                preroll.clear()
                        continue
                    if endpointer.continues:  # to its END, neither decoded nor sent (see CONTINUATIONS)
                        if event is Event.END:
                            CONTINUATIONS.inc()
                            in_utterance = False
                        continue
                    feed.append(frame)
                    pause.append(frame)
                    if event is Event.EOU and config.interim_results:
                        data, feed = np.concatenate(feed).tobytes(), []
                        partial = await decoder.feed(data, True)
                        yield result(partial or "", False, 1.0)
                    elif event is Event.SHORT_PAUSE or event is Event.PAUSE or event is Event.END:
                        data, feed = np.concatenate(feed).tobytes(), []
                        if event is Event.SHORT_PAUSE:
                            transcript = await decoder.end(data, "closed", padding(endpointer.short_pause_frames))
                        elif event is Event.PAUSE:
                            transcript = await decoder.end(data, "complete", padding(endpointer.pause_frames))
                        else:
                            transcript = await decoder.end(data)
                        if transcript is None:  # a pause inside a phrase, or one it may go on from: listen on
                            continue
                        ENDS.labels(ENDED_BY[event]).inc()
                        if event is not Event.END:
                            endpointer.end_here(early=True)
                        in_utterance = False
                        # Speech that ended with nothing recognised (rejected, or empty from the open-
                        # vocabulary engine) still gets its final, empty: a live client keeps its microphone
                        # open until it hears the utterance is over, and without one it waited for
                        # ASR_MAX_SILENCE_SECONDS (the voice bench's 10 s timeouts); the gateway answers an
                        # empty final "didn't catch that". A noise burst the search was forced through
                        # (forced) is no speech: no final, as before.
                        if transcript.text or not transcript.forced:
                            yield result(transcript.text, True, 1.0, transcript)
                remainder = remainder[n_frames * FRAME_SAMPLES :]
                # Audio goes to the decoder in batches of FEED_FRAMES, whatever the client's message
                # size: each call to a decoding process costs CPU of its own (with 20 ms messages and
                # a call per message, the RTF was 0.095 instead of 0.042).
                if in_utterance and len(feed) >= FEED_FRAMES:
                    want_partial = config.interim_results and frames_seen * FRAME_MS / 1000 - last_interim >= (
                        self.interim_interval_s
                    )
                    data, feed = np.concatenate(feed).tobytes(), []
                    partial = await decoder.feed(data, want_partial)
                    if partial:
                        last_interim = frames_seen * FRAME_MS / 1000
                        yield result(partial, False, 0.5)
                if live and not in_utterance and silence_frames * FRAME_MS / 1000 > self.max_silence_seconds:
                    raise AudioError(
                        f"no speech detected for {self.max_silence_seconds:g} s; the stream is closed "
                        "(check the microphone, the gain, and that the audio is 16-bit PCM at the declared rate)"
                    )
            if in_utterance and endpointer.continues:
                CONTINUATIONS.inc()
            elif in_utterance:
                in_utterance = False
                ENDS.labels("stream_end").inc()
                transcript = await decoder.end(np.concatenate(feed).tobytes() if feed else b"")
                if transcript is not None and transcript.text:
                    yield result(transcript.text, True, 1.0, transcript)
            # No speech at all (silence, noise the endpointer never took for speech): no results, as Riva
            # answers. A live stream that stays silent is still closed at ASR_MAX_SILENCE_SECONDS.
        finally:
            decoder.close()

    async def _audio(
        self, fmt: AudioFormat, chunks: AsyncIterator[bytes], gate: SpectralGate | None
    ) -> AsyncIterator[np.ndarray]:
        """The stream's audio as 16 kHz samples, through the gate (ASR_DENOISE), which passes it as it is
        when the stream opens on less than the endpointer's floor of noise (quieter, it is never speech:
        nothing to take out). The endpointer hears the gated audio too: its VAD takes steady noise for
        speech less often."""
        resampler = Resampler(fmt.sample_rate)
        async for chunk in chunks:
            samples = resampler.process(pcm16(chunk))
            yield gate.process(samples) if gate is not None else samples
        if gate is not None:
            yield gate.flush()

    async def recognize(self, config: rasr.RecognitionConfig, fmt: AudioFormat, audio: bytes) -> rasr.RecognizeResponse:
        """Offline: the streaming pipeline over the whole audio, final results only."""
        step = fmt.bytes_per_second // 10

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(audio), step):
                yield audio[i : i + step]

        streaming_config = rasr.StreamingRecognitionConfig(config=config, interim_results=False)
        results = []
        async for response in self.streaming(streaming_config, fmt, chunks(), live=False):
            for r in response.results:
                if r.is_final:
                    results.append(
                        rasr.SpeechRecognitionResult(
                            alternatives=r.alternatives, channel_tag=r.channel_tag, audio_processed=r.audio_processed
                        )
                    )
        return rasr.RecognizeResponse(results=results)
