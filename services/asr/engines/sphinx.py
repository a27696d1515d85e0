"""The CPU engine's decoding side: pocketsphinx against the command grammar.

Everything here runs inside a decoding process of the ASR server (see
decoder_pool.py): pocketsphinx's Python binding holds the GIL while it decodes,
so threads of one process cannot decode on two cores at once, and a crash in its
C code would take every stream with it.

One decoder per live stream (decoders keep search state between chunks), taken
from a pool built with the grammar. Grammar decoders load a dictionary of just
the grammar's words (about 5 MB each instead of 90 MB); the generic
language-model decoders are made on first use and serve the "generic" model.

Speech the grammar does not cover is decoded again with the language model in a
process of its own, the fallback process (serve_fallback, decode_free_speech):
that decode takes the whole utterance at once, 0.6-0.8 s of CPU for a 5 s one,
and in a decoding process every other stream pinned there would wait behind it.

Every decoder is constructed in this module (GrammarModel.new_decoder and
new_generic_decoder), so parameter changes land in one place.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pocketsphinx  # type: ignore[import-untyped]

from services.asr import grammar, phrases
from services.asr.comfort_noise import ComfortNoise, pink_noise
from services.asr.config import REJECT_SCORE_GAP, REJECT_SCORE_GAP_SHORT
from services.asr.endpointing import FRAME_MS
from services.asr.engines import whisper
from services.asr.phrase_end import EarlyEnd, PhraseEnds, PhraseStatus
from services.asr.vocabulary import Vocabulary
from shopvoice import log

MODEL_DIR = pocketsphinx.get_model_path()
HMM = os.path.join(MODEL_DIR, "en-us", "en-us")
DICT = os.path.join(MODEL_DIR, "en-us", "cmudict-en-us.dict")
LM = os.path.join(MODEL_DIR, "en-us", "en-us.lm.bin")
PHONE_LM = os.path.join(MODEL_DIR, "en-us", "en-us-phone.lm.bin")
GRAMMAR_MODEL = "sphinx-en-us-grammar"
GENERIC_MODEL = "sphinx-en-us-generic"
LANGUAGES = ("en-US",)
NON_WORDS = {"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]"}
# Each phone of the acoustic model is a 3-state left-to-right HMM without skips, so a word takes
# at least 3 frames (30 ms) per phone. Words said at under 5 frames per phone on average (20
# phones a second) are faster than anyone speaks (fast speech is 12-15 phones a second; the
# spoken set's espeak-ng voices at 190 wpm take 8-11 frames): what comes back that fast is
# the search forced through noise.
MIN_FRAMES_PER_PHONE = 5
# A cepstral mean of typical speech, so a new decoder does not start from silence's
# (measured on mixed-noise speech; decoders then adapt live, stream after stream).
CMN_PRIOR = "59.54,-4.92,-2.02,6.59,-6.22,-2.79,-4.09,-5.95,-3.58,-1.80,0.55,-1.57,-0.02"
# pocketsphinx settings of the grammar decoders, chosen on the spoken set's development
# seed with bench/asr_accuracy.py (never on the test seed); see docs/asr.md.
# bestpath off: the lattice rescoring pass lost to the Viterbi path on the grammar (+5 points
# at 10 dB) and costs time; wider beams keep noisy commands in the search instead of ending
# with no hypothesis (and a generic-LM re-decode); a lower word insertion penalty stops the
# extra digits in order numbers. Dev set, 96 commands x 3 levels: 71.9/79.2/45.8% command
# accuracy (clean/20/10 dB) with the defaults -> 78.1/83.3/63.5% with these. The word-exit beam
# later went from 1e-40 to 1e-60: a word's end pruned at 1e-40 left the search no path to the
# grammar's final state, and the utterance went to the language model ("set stock of ..." by
# en-029 came back as another command or as noise). Dev seeds 7 / 5, 200 commands: 87.5 / 88.5 /
# 82.0% and 87.0 / 90.5 / 78.5% -> 89.5 / 91.0 / 84.0% and 89.5 / 90.0 / 80.5%, WER at 20 dB 5.4 /
# 4.2% -> 3.0 / 3.3%, for no more CPU; 1e-80 gave the same, and beam / pbeam at 1e-80 too, 20% more.
GRAMMAR_DECODER_OPTIONS: dict[str, object] = {
    "bestpath": False,
    "beam": 1e-60,
    "pbeam": 1e-60,
    "wbeam": 1e-60,
    "wip": 0.2,
}


@dataclass
class Transcript:
    text: str
    confidence: float
    words: list[tuple[str, int, int, float]]  # word, start ms, end ms, confidence
    model: str
    # Words faster than anyone speaks: the search was forced to end on a phrase in audio
    # that holds none (see read_transcript). Not speech: no final, no fallback decode.
    forced: bool = False
    # The grammar had no good answer: the utterance, for the fallback process to decode
    # with the language model (decoder_pool.DecoderPool.fall_back). None once that is done.
    fallback: FreeSpeech | None = None
    # Other whole phrases of the grammar the lattice holds, best first (max_alternatives > 1).
    alternatives: list[str] = field(default_factory=list)
    # The grammar path's score less the phone loop's, per 10 ms frame (log base 1.0001; 0 or less:
    # free speech explains the audio at least as well as any phrase). None: no phone loop ran.
    score_gap: float | None = None
    rejected: str = ""  # the grammar's words when rejection took them away (for logs and measurement)


@dataclass(frozen=True)
class FreeSpeech:
    """An utterance's audio as the grammar decoder heard it (comfort noise in), where it began, and
    the words to prime the open-vocabulary engine with (the catalog's, the request's boosted ones)."""

    audio: bytes
    offset_ms: int
    prompt: str = ""
    # time.monotonic() (one clock for every process of the machine) after which the decode is not
    # started: the utterance waited its ASR_OPEN_VOCABULARY_MAX_WAIT_S in the fallback queue. None: no limit.
    start_by: float | None = None


# Rejection: the grammar's best path against the phone loop's (Transcript.score_gap, per frame).
# confidence = logistic((gap - threshold) / CONFIDENCE_SCALE): 0.5 at the threshold, so a final's
# confidence says how far it cleared it. Threshold: ASR_REJECT_SCORE_GAP, set from the spoken set's
# dev half (docs/asr.md).
CONFIDENCE_SCALE = 4.0
# The thresholds (docs/asr.md, "Rejection"): on 128 command and 64 non-command clips of the dev half,
# chatter the grammar forced onto a phrase scored -12 to -28, right commands -9 to +7 (at 10 dB SNR
# lower); -6 keeps the clean and 20 dB commands the grammar got right but one, and 3 of 64 non-commands.
# REJECT_SCORE_GAP (services/asr/config.py) = -6.0


# A phrase of one or two words ("confirm", "undo that") scores lower against the phone loop than a
# long one: a clean espeak "confirm" is -7.4, "undo" -2.4, while chatter the grammar forced onto "no"
# was -10.1 on the dev half. Short phrases get their own, lower threshold (ASR_REJECT_SCORE_GAP_SHORT).
SHORT_PHRASE_WORDS = 2
# One word in under 0.8 s of decoded audio is not judged at all: over so few frames the gap swings
# (a fast "yes" cut at its pause scored -18 in tests/asr/test_decoder_host.py), and "yes"/"no" are what
# every read-back waits for. A long stretch forced onto one word ("no, the appointment is on Thursday")
# is still judged.
MIN_JUDGED_FRAMES = 80


def judge(transcript: Transcript, threshold: float, short_threshold: float | None = None) -> None:
    """Turn the score gap into the confidence, and take the words away when it is under the threshold:
    free speech explained the audio better than any phrase, so it was no command of the grammar."""
    gap = transcript.score_gap
    assert gap is not None
    if short_threshold is not None and len(transcript.text.split()) <= SHORT_PHRASE_WORDS:
        threshold = short_threshold
    transcript.confidence = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, (gap - threshold) / CONFIDENCE_SCALE))))
    if gap < threshold and transcript.text:
        transcript.rejected = transcript.text
        transcript.text, transcript.words, transcript.alternatives = "", [], []


# Pure tones, hums and beeps: in the louder half of an utterance's 32 ms frames, the five FFT bins
# around the strongest hold this share of the power or more (median). Dev half: speech of every kind
# 0.27-0.58 (commands at every level, chatter, other languages), sines, hums and beeps 0.69-1.0; plucked
# tone sequences (0.35-0.40) are not caught by it.
MAX_TONALITY = 0.65


def tonality(audio: bytes) -> float:
    """How much of the sound sits in one narrow band: near 1 for a sine, under 0.6 for speech."""
    x = np.frombuffer(audio, dtype="<i2").astype(np.float64)
    n, hop = 512, 256
    if len(x) < n:
        return 0.0
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::hop] * np.hanning(n)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    energy = power.sum(axis=1)
    loud = energy >= np.percentile(energy, 50)
    power, energy = power[loud], energy[loud]
    peak = power.argmax(axis=1)
    band = np.clip(peak[:, None] + np.arange(-2, 3), 0, power.shape[1] - 1)
    share = np.take_along_axis(power, band, axis=1).sum(axis=1) / np.maximum(energy, 1e-9)
    return float(np.median(np.minimum(share, 1.0))) if len(share) else 0.0


def open_vocabulary_prompt(vocabulary: Vocabulary, boosted: tuple[str, ...] = ()) -> str:
    """What whisper is primed with: the shop's product names and codes, carriers, the commands' words."""
    # The newest (the name class's), by their English titles: whisper transcribes English here, and
    # primed with Chinese titles it wrote Chinese characters into English commands.
    named = [(sku, title) for sku, title in vocabulary.products if title and title.isascii()][:40]
    products = ", ".join(f"{title} ({sku})" if sku else title for sku, title in named)
    extra = f" Also: {', '.join(boosted)}." if boosted else ""
    return (
        f"A shop owner gives commands: set the price, stock, ship order 1234 via UPS, FedEx, DHL, SF, EMS, refund,"
        f" cancel, sales today. Products: {products}.{extra}"
    )


@dataclass
class GrammarModel:
    """One compiled grammar with its dictionary and its pool of idle decoders."""

    grammar: grammar.Grammar
    dict_path: Path
    decoder_options: dict[str, object] = field(default_factory=lambda: dict(GRAMMAR_DECODER_OPTIONS))
    idle: list[pocketsphinx.Decoder] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def new_decoder(self) -> pocketsphinx.Decoder:
        decoder = pocketsphinx.Decoder(
            hmm=HMM, dict=str(self.dict_path), lm=None, cmninit=CMN_PRIOR, loglevel="FATAL", **self.decoder_options
        )
        fsg = decoder.create_fsg("commands", self.grammar.start, self.grammar.final, self.grammar.transitions)
        decoder.add_fsg("commands", fsg)
        decoder.activate_search("commands")
        return decoder

    def take(self) -> pocketsphinx.Decoder:
        with self.lock:
            if self.idle:
                return self.idle.pop()
        return self.new_decoder()

    def give(self, decoder: pocketsphinx.Decoder) -> None:
        with self.lock:
            self.idle.append(decoder)


class Utterance:
    """One utterance on one decoder: feed audio, read partials, finish with a transcript (blocking calls)."""

    def __init__(
        self,
        decoder: pocketsphinx.Decoder,
        offset_ms: int,
        model: str,
        keep_audio: bool,
        comfort: ComfortNoise | None = None,
        phones: pocketsphinx.Decoder | None = None,
    ) -> None:
        self.decoder = decoder
        self.phones = phones  # the phone loop, fed the same audio: what free speech would score
        self.comfort = comfort
        self.offset_ms = offset_ms
        self.model = model
        self.audio: bytearray | None = bytearray() if keep_audio else None
        # The same audio as it came, before our comfort noise: what tonality() judges. Pink noise
        # holds most of its power in the lowest bins, so where it filled the pauses of a quiet,
        # high voice, the "loudest half" of the frames was half noise and espeak's en-us+f3 "is c
        # seven in stock" measured 0.66, a tone (0.38 as it came).
        self.as_sent: bytearray | None = bytearray() if keep_audio else None
        # What the words were at the last check of a closed-phrase pause (see DecoderHost.end).
        self.status_at_short_pause: PhraseStatus = "incomplete"
        decoder.start_utt()
        if phones is not None:
            phones.start_utt()

    def feed(self, samples: bytes, partial: bool) -> str | None:
        if self.as_sent is not None:
            self.as_sent += samples
        if self.comfort is not None:
            samples = self.comfort.add(samples)
        if samples:  # process_raw refuses an empty buffer
            self.decoder.process_raw(samples, False, False)
            if self.phones is not None:
                self.phones.process_raw(samples, False, False)
        if self.audio is not None:
            self.audio += samples
        if not partial:
            return None
        hyp = self.decoder.hyp()
        return hyp.hypstr if hyp is not None else ""

    def finish(self) -> Transcript:
        self.decoder.end_utt()
        transcript = read_transcript(self.decoder, self.offset_ms, self.model)
        if self.phones is not None:
            self.phones.end_utt()
            frames = self.decoder.n_frames()
            grammar, free = self.decoder.hyp(), self.phones.hyp()
            judged = len(transcript.text.split()) > 1 or frames >= MIN_JUDGED_FRAMES
            if transcript.text and judged and grammar is not None and free is not None:
                transcript.score_gap = (log_score(grammar.score) - log_score(free.score)) / frames
        return transcript

    def abandon(self) -> None:
        self.decoder.end_utt()
        if self.phones is not None:
            self.phones.end_utt()


def read_transcript(decoder: pocketsphinx.Decoder, offset_ms: int, model: str) -> Transcript:
    """The decoder's best path as words with times and per-word posteriors.

    A grammar search must end on a phrase, so background noise at the end of a stream (or
    a noise burst the endpointer took for speech) comes back as the shortest phrase there is,
    squeezed into the last few frames: "no" in 60-70 ms (after 25 of the 120 development-seed
    files at 20 dB). Passed on, it would be a second utterance that answers "no" to the merchant's
    own question. A path faster than MIN_FRAMES_PER_PHONE is marked `forced` and has no text.
    """
    hyp = decoder.hyp()
    if hyp is None or not hyp.hypstr:
        return Transcript("", 0.0, [], model)
    words = []
    frames = phones = 0
    for seg in decoder.seg():
        if seg.word in NON_WORDS or seg.word.startswith("++") or seg.word.startswith("["):
            continue
        word = seg.word.split("(", 1)[0]
        frames += seg.end_frame - seg.start_frame + 1
        phones += len((decoder.lookup_word(seg.word) or word).split())
        words.append(
            (
                word,
                offset_ms + seg.start_frame * FRAME_MS,
                offset_ms + (seg.end_frame + 1) * FRAME_MS,
                float(min(1.0, max(0.0, seg.prob))),
            )
        )
    if words and frames < MIN_FRAMES_PER_PHONE * phones:
        return Transcript("", 0.0, [], model, forced=True)
    confidence = float(np.mean([w[3] for w in words])) if words else 0.0
    return Transcript(hyp.hypstr, confidence, words, model)


LOG_BASE = math.log(1.0001)  # pocketsphinx's logmath base: hypothesis scores are 1.0001 ** score


def log_score(score: float) -> float:
    """A hypothesis's score back in pocketsphinx's log units (its Python binding exponentiates it)."""
    return math.log(score) / LOG_BASE if score > 0 else -1e9


def new_phone_decoder() -> pocketsphinx.Decoder:
    """A phone loop (allphone search with the model's phone bigram): the free-speech reference the
    grammar path is compared with, to reject what is no command."""
    return pocketsphinx.Decoder(hmm=HMM, allphone=PHONE_LM, lm=None, cmninit=CMN_PRIOR, loglevel="FATAL")


def n_best(decoder: pocketsphinx.Decoder, best: str, wanted: int, ends: PhraseEnds) -> list[str]:
    """Up to `wanted` distinct whole phrases, `best` first, then the lattice's next best paths that
    are whole phrases of the grammar (a lattice path may stop short of the grammar's end)."""
    found = [best]
    with contextlib.suppress(RuntimeError, ValueError):  # no lattice for this utterance
        for i, path in enumerate(decoder.nbest()):
            if len(found) >= wanted or i >= NBEST_PATHS:
                break
            text = path.hypstr
            if text and text not in found and ends.status(text.split()) != "incomplete":
                found.append(text)
    return found


def new_generic_decoder() -> pocketsphinx.Decoder:
    """A decoder with the full language model (90 MB of dictionary): free speech."""
    return pocketsphinx.Decoder(hmm=HMM, dict=DICT, lm=LM, cmninit=CMN_PRIOR, loglevel="FATAL")


def compile_grammar(
    vocabulary: Vocabulary,
    use_nlu_phrases: bool,
    workdir: Path,
    decoder_overrides: tuple[tuple[str, object], ...] = (),
    names: int = grammar.NAMES,
) -> GrammarModel:
    """The grammar for this vocabulary (SKUs by pattern, `names` titles), with one decoder made now so a
    broken grammar fails here; its decoders get GRAMMAR_DECODER_OPTIONS with decoder_overrides on top."""
    began = time.monotonic()
    built = grammar.build(phrases.phrases_for(vocabulary, "en-US", use_nlu_phrases), vocabulary, DICT, names)
    dict_path = grammar.write_dictionary(DICT, built.words, workdir / f"grammar-{time.monotonic_ns()}.dict")
    model = GrammarModel(built, dict_path, {**GRAMMAR_DECODER_OPTIONS, **dict(decoder_overrides)})
    model.give(model.new_decoder())
    log.get().info(
        "grammar compiled",
        seconds=round(time.monotonic() - began, 3),
        products=len(vocabulary.products),
        phrases=built.phrases,
        words=len(built.words),
        transitions=len(built.transitions),
        dropped=len(built.dropped),
    )
    return model


@dataclass(frozen=True)
class DecodingOptions:
    """What a decoding process needs to build its decoders (sent to it once, at start)."""

    vocabulary: Vocabulary
    use_nlu_phrases: bool
    comfort_noise_rms: float
    comfort_noise_below_db: float
    fallback_confidence: float
    decoders: int  # grammar decoders made up front: making one takes ~170 ms that no stream should wait for
    # pocketsphinx options over GRAMMAR_DECODER_OPTIONS (bench/asr_accuracy.py --set): they travel with the
    # options, as the decoding processes are spawned and never see a change to this module's dict in the parent
    decoder_overrides: tuple[tuple[str, object], ...] = ()
    # Run a phone loop beside each grammar decoder, for Transcript.score_gap (rejection).
    reject: bool = True
    reject_gap: float = REJECT_SCORE_GAP  # ASR_REJECT_SCORE_GAP
    reject_gap_short: float | None = REJECT_SCORE_GAP_SHORT  # ASR_REJECT_SCORE_GAP_SHORT (None: the same)
    open_vocabulary: bool = False  # a whisper fallback process runs: rejected speech goes to it
    names: int = grammar.NAMES  # ASR_GRAMMAR_NAMES: product titles in the grammar (the newest)


@dataclass
class _Stream:
    decoder: pocketsphinx.Decoder
    model: str
    comfort: ComfortNoise | None  # kept for the stream's life: its level follows the speaker across utterances
    grammar: GrammarModel | None = None  # whose decoder it is (None: a generic decoder)
    phones: pocketsphinx.Decoder | None = None  # its phone loop (grammar streams, when rejection is on)
    ends: PhraseEnds | None = None
    alternatives: int = 1
    boosted: tuple[str, ...] = ()
    utterance: Utterance | None = None


# Grammars with a request's boosted phrases (speech_contexts) added as product names, kept for
# the next request with the same phrases; compiling one takes 0.5-2 s.
BOOSTED_GRAMMARS = 4
# Lattice paths read for an n-best (max_alternatives): a path per distinct word string is rare.
NBEST_PATHS = 60


class DecoderHost:
    """The decoders of one decoding process, and the streams using them by stream id (blocking calls)."""

    def __init__(self, options: DecodingOptions) -> None:
        self.options = options
        self.noise = pink_noise()  # one loop for every stream's comfort noise
        self.model = compile_grammar(
            options.vocabulary,
            options.use_nlu_phrases,
            Path(tempfile.mkdtemp(prefix="sv-asr-")),
            options.decoder_overrides,
            options.names,
        )
        self.phrase_ends = PhraseEnds(self.model.grammar)
        for _ in range(options.decoders - 1):
            self.model.give(self.model.new_decoder())
        self.generic_idle: list[pocketsphinx.Decoder] = []
        self.streams: dict[int, _Stream] = {}
        self.boosted: dict[tuple[str, ...], tuple[GrammarModel, PhraseEnds]] = {}
        # One phone loop made now; more as streams need them (each loads the acoustic model: ~0.2 s, and a
        # server with 16 of them per process took over 30 s to start on a loaded 2-core machine), kept after.
        self.phone_idle: list[pocketsphinx.Decoder] = [new_phone_decoder()] if options.reject else []
        self.workdir = Path(tempfile.mkdtemp(prefix="sv-asr-boost-"))

    def _grammar_for(self, boosted: tuple[str, ...]) -> tuple[GrammarModel, PhraseEnds]:
        """The grammar, or one with these boosted phrases as product names too (compiled once, kept
        for the next BOOSTED_GRAMMARS sets): "is yoga mat in stock" is heard with "yoga mat" boosted."""
        if not boosted:
            return self.model, self.phrase_ends
        if boosted in self.boosted:
            self.boosted[boosted] = self.boosted.pop(boosted)  # most recently used last
            return self.boosted[boosted]
        vocabulary = self.options.vocabulary
        extra = tuple(("", phrase) for phrase in boosted)
        model = compile_grammar(  # the boosted phrases first, and on top of the name class
            replace(vocabulary, products=extra + vocabulary.products),
            self.options.use_nlu_phrases,
            self.workdir,
            self.options.decoder_overrides,
            self.options.names + len(extra),
        )
        if len(self.boosted) >= BOOSTED_GRAMMARS:
            self.boosted.pop(next(iter(self.boosted)))
        self.boosted[boosted] = (model, PhraseEnds(model.grammar))
        return self.boosted[boosted]

    def start(
        self, stream_id: int, model: str, offset_ms: int, boosted: tuple[str, ...] = (), alternatives: int = 1
    ) -> None:
        """A new utterance on the stream's decoder (taken on its first utterance, kept for its life)."""
        stream = self.streams.get(stream_id)
        if stream is None:
            if model == GENERIC_MODEL:
                stream = _Stream(self._take_generic(), model, self._comfort_noise())
            else:
                grammar_model, ends = self._grammar_for(boosted)
                stream = _Stream(grammar_model.take(), model, self._comfort_noise(), grammar=grammar_model, ends=ends)
                if self.options.reject:
                    stream.phones = self.phone_idle.pop() if self.phone_idle else new_phone_decoder()
            stream.alternatives, stream.boosted = alternatives, boosted
            self.streams[stream_id] = stream
        keep_audio = model != GENERIC_MODEL  # for the generic fallback
        stream.utterance = Utterance(stream.decoder, offset_ms, model, keep_audio, stream.comfort, stream.phones)

    def feed(self, stream_id: int, audio: bytes, partial: bool) -> str | None:
        utterance = self._utterance(stream_id)
        return utterance.feed(audio, partial) if audio else None

    def end(
        self, stream_id: int, audio: bytes, only_if: EarlyEnd | None = None, padding: bytes = b""
    ) -> Transcript | None:
        """Close the utterance and return its transcript. With only_if, only when the hypothesis
        so far is a whole grammar phrase ("complete": open or closed) or one no word may continue
        ("closed"); else None, and the utterance goes on: the audio is decoded (send it only once),
        the padding is not, and a later end finds the utterance as if it had only been fed. A
        "complete" check also ends it when the "closed" check before it found a whole phrase: the
        engine asks them at the short and the long pause of one run of silence.

        padding: silence to decode before closing. Ended after a short pause, the final
        (lattice) search has too little trailing silence to settle, and drops or adds last
        words ("... waiting to ship" came back "... waiting"); decoding the pause's own
        background noise once more gives it that silence without waiting for it in real time.
        """
        utterance = self._utterance(stream_id)
        stream = self.streams[stream_id]
        ends = stream.ends or self.phrase_ends
        partial = utterance.feed(audio, only_if is not None)
        if only_if is not None:
            status = ends.status((partial or "").split())
            if only_if == "closed":
                utterance.status_at_short_pause = status
            elif status == "incomplete":
                # The endpointer reports a closed-phrase pause before the longer pause in every run of
                # silence, so the last "closed" check was in this run, and no speech came since. A whole
                # phrase then stays whole: the partial hypothesis, the best path into any state, may
                # drift over the silence ("yes" became "eighty eight"; the final search, held to the
                # grammar's final state, still says "yes"), and the utterance would wait out the stop window.
                status = utterance.status_at_short_pause
            if status == "incomplete" or (only_if == "closed" and status == "open"):
                return None
        utterance.feed(padding, False)
        self.streams[stream_id].utterance = None
        transcript = utterance.finish()
        if stream.alternatives > 1 and transcript.text:
            transcript.alternatives = n_best(utterance.decoder, transcript.text, stream.alternatives, ends)
        if transcript.score_gap is not None:
            judge(transcript, self.options.reject_gap, self.options.reject_gap_short)
        if self.options.reject and utterance.as_sent and tonality(bytes(utterance.as_sent)) > MAX_TONALITY:
            # A tone, hum or beep: no speech for any engine
            transcript.rejected = transcript.rejected or transcript.text
            transcript.text, transcript.words, transcript.alternatives, transcript.confidence = "", [], [], 0.0
            return transcript
        if utterance.model == GENERIC_MODEL or not utterance.audio or transcript.forced:
            return transcript
        if self.options.open_vocabulary and (
            not transcript.text or transcript.confidence < self.options.fallback_confidence
        ):
            prompt = open_vocabulary_prompt(self.options.vocabulary, stream.boosted)
            transcript.fallback = FreeSpeech(bytes(utterance.audio), utterance.offset_ms, prompt)
        return transcript

    def close(self, stream_id: int) -> None:
        stream = self.streams.pop(stream_id, None)
        if stream is None:
            return
        if stream.utterance is not None:
            stream.utterance.abandon()
        if stream.phones is not None:
            self.phone_idle.append(stream.phones)
        if stream.grammar is None:
            self.generic_idle.append(stream.decoder)
        else:
            stream.grammar.give(stream.decoder)

    def _comfort_noise(self) -> ComfortNoise | None:
        o = self.options
        if o.comfort_noise_rms <= 0 and o.comfort_noise_below_db <= 0:
            return None
        return ComfortNoise(self.noise, o.comfort_noise_rms, o.comfort_noise_below_db)

    def _utterance(self, stream_id: int) -> Utterance:
        utterance = self.streams[stream_id].utterance
        assert utterance is not None, "audio for a stream outside an utterance"
        return utterance

    def _take_generic(self) -> pocketsphinx.Decoder:
        return self.generic_idle.pop() if self.generic_idle else new_generic_decoder()


# --- a decoding process's entry points (module functions, so a process pool can call them) ------

_host: DecoderHost | None = None
_free_speech: pocketsphinx.Decoder | None = None  # in the fallback process
DECODING_PROCESS_NAME = "sv-asr-decode"  # as ps and top show them (at most 15 characters)
FALLBACK_PROCESS_NAME = "sv-asr-fallback"


def serve(options: DecodingOptions) -> None:
    """A decoding process's initializer: build its decoders, and live no longer than the server."""
    global _host
    _become_child(DECODING_PROCESS_NAME)
    _host = DecoderHost(options)


def serve_fallback(whisper_path: str = "", threads: int = 2) -> None:
    """The fallback process's initializer: whisper loaded before it is needed (the open-vocabulary
    engine, engines/whisper.py), or without a path one language-model decoder (loading the model
    takes ~0.25 s that the first fallback should not wait for)."""
    global _free_speech
    _become_child(FALLBACK_PROCESS_NAME)
    if whisper_path:
        whisper.load(whisper_path, threads)
    else:
        _free_speech = new_generic_decoder()


def _become_child(name: str) -> None:
    # Operators tell the server's processes apart in ps and top by this name.
    with contextlib.suppress(OSError):
        Path("/proc/self/comm").write_text(name)
    # The server decides when decoding stops: Ctrl-C reaches the whole process group, and the
    # server drains its streams before it shuts the pool down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A server killed outright (SIGKILL, the OOM killer) cannot shut the pool down, and the pool's
    # queue never reports EOF here (this process holds a writer too): follow the parent instead.
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True, name="parent-watch").start()


def _exit_with(parent_sentinel: int) -> None:
    multiprocessing.connection.wait([parent_sentinel])
    os._exit(0)


def _the_host() -> DecoderHost:
    assert _host is not None, "serve() has not run in this process"
    return _host


def ready() -> int:
    """A no-op that returns once the decoders are built: the process's pid."""
    assert _host is not None or _free_speech is not None or whisper._model is not None, (
        "no initializer has run in this process"
    )
    return os.getpid()


def start(stream_id: int, model: str, offset_ms: int, boosted: tuple[str, ...] = (), alternatives: int = 1) -> None:
    _the_host().start(stream_id, model, offset_ms, boosted, alternatives)


def feed(stream_id: int, audio: bytes, partial: bool) -> str | None:
    return _the_host().feed(stream_id, audio, partial)


def end(stream_id: int, audio: bytes, only_if: EarlyEnd | None, padding: bytes) -> Transcript | None:
    return _the_host().end(stream_id, audio, only_if, padding)


def close(stream_id: int) -> None:
    _the_host().close(stream_id)


def decode_free_speech(speech: FreeSpeech) -> Transcript | None:
    """In the fallback process: the whole utterance with whisper (or the language model); None,
    at once, when it waited past its start_by: the speaker has been waiting too long already."""
    if speech.start_by is not None and time.monotonic() > speech.start_by:
        return None
    decoder = _free_speech
    if decoder is None:
        text, confidence = whisper.transcribe(speech.audio, "en-US", speech.prompt)
        # at most 0.5: over it is the grammar's (services/nlu/readback.py tells the engines apart by it)
        confidence = min(confidence, whisper.MAX_CONFIDENCE)
        end_ms = speech.offset_ms + len(speech.audio) // 32
        words = [(w, speech.offset_ms, end_ms, confidence) for w in text.split()]  # no word times: the span
        return Transcript(text, confidence, words, whisper.OPEN_VOCABULARY_MODEL)
    decoder.start_utt()
    decoder.process_raw(speech.audio, False, True)
    decoder.end_utt()
    return read_transcript(decoder, speech.offset_ms, GENERIC_MODEL)
