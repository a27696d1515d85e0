"""NVIDIA's python-clients scripts (scripts/asr at HEAD, nvidia-riva-client 2.28) against services/asr.

Each test builds its request exactly as the script does (transcribe_file.py: streaming;
transcribe_file_offline.py: Recognize and --list-models) with the library's own helpers:
the file's bytes as they are, header included, through AudioChunkFileIterator or read
whole, the config from the script's flags (encoding, rate and channels left unset, so
the server reads them from the header, as Riva does), and ASRService's
streaming_response_generator / offline_recognize. Audio files are made with espeak-ng
and sox: WAV at 8, 16 and 44.1 kHz, FLAC, stereo, G.711.
"""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import grpc
import numpy as np
import pytest
import riva.client
from riva.client.proto import riva_asr_pb2 as rasr
from riva.client.proto import riva_common_pb2 as rcommon

from services.asr.audio import Resampler
from tests.asr.conftest import say
from tests.asr.support import client
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.e2e

COMMAND = "how many orders are waiting to ship"
THREE = ["what are today's sales", "undo that", "ship order one two three four via s f"]


def _wav(path: Path, pcm16k: bytes, rate: int = 16_000, channels: int = 1) -> Path:
    samples = np.frombuffer(pcm16k, dtype="<i2")
    if rate != 16_000:
        samples = Resampler(16_000, rate).process(samples)
    if channels > 1:
        samples = np.repeat(samples, channels)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return path


def _sox(src: Path, dst: Path, *effects: str) -> Path:
    subprocess.run(["sox", str(src), *effects, str(dst)], check=True, capture_output=True)
    return dst


def _script_config(
    language: str = "en-US",
    words: bool = False,
    boosted: list[str] | None = None,
    stop_history: int = -1,
    max_alternatives: int = 1,
) -> rasr.RecognitionConfig:
    """transcribe_file(_offline).py's config: what its flags set, nothing about the audio."""
    config = riva.client.RecognitionConfig(
        language_code=language,
        model="",
        max_alternatives=max_alternatives,
        profanity_filter=False,
        enable_automatic_punctuation=False,
        verbatim_transcripts=True,
        enable_word_time_offsets=words,
    )
    riva.client.add_word_boosting_to_config(config, boosted, 20.0 if boosted else 0.0)
    riva.client.add_endpoint_parameters_to_config(config, -1, -1.0, stop_history, -1, -1.0, -1.0)
    riva.client.add_custom_configuration_to_config(config, "")
    return config


def _streaming(address: str, path: Path, config: rasr.RecognitionConfig) -> list[rasr.StreamingRecognitionResult]:
    """transcribe_file.py: the file through AudioChunkFileIterator (--file-streaming-chunk 1600),
    interim results on; every result."""
    streaming = riva.client.StreamingRecognitionConfig(config=config, interim_results=True)
    with riva.client.AudioChunkFileIterator(path, 1600, None) as chunks:
        return [
            r for response in client(address).streaming_response_generator(chunks, streaming) for r in response.results
        ]


def _offline(address: str, path: Path, config: rasr.RecognitionConfig) -> rasr.RecognizeResponse:
    """transcribe_file_offline.py: the file's bytes in one Recognize."""
    response: rasr.RecognizeResponse = client(address).offline_recognize(path.read_bytes(), config)
    return response


def _finals(results: list[rasr.StreamingRecognitionResult]) -> list[str]:
    return [r.alternatives[0].transcript for r in results if r.is_final and r.alternatives]


@pytest.fixture(scope="module")
def command_wav(spoken_dir: Path) -> bytes:
    return say(COMMAND, spoken_dir)


@pytest.mark.parametrize("rate", [8_000, 16_000, 44_100])
def test_streaming_a_wav_file_as_the_script_sends_it(
    asr_server: ServiceProcess, tmp_path: Path, command_wav: bytes, rate: int
) -> None:
    path = _wav(tmp_path / f"c{rate}.wav", command_wav, rate)
    assert riva.client.get_wav_file_parameters(path)["framerate"] == rate
    assert _finals(_streaming(asr_server.address, path, _script_config())) == [COMMAND]


@pytest.mark.parametrize("rate", [8_000, 16_000, 44_100])
def test_offline_recognize_of_a_wav_file_as_the_script_sends_it(
    asr_server: ServiceProcess, tmp_path: Path, command_wav: bytes, rate: int
) -> None:
    path = _wav(tmp_path / f"o{rate}.wav", command_wav, rate)
    response = _offline(asr_server.address, path, _script_config())
    assert [r.alternatives[0].transcript for r in response.results] == [COMMAND]


def test_the_older_helper_that_sets_rate_and_channels_from_the_file_agrees(
    asr_server: ServiceProcess, tmp_path: Path, command_wav: bytes
) -> None:
    path = _wav(tmp_path / "spec.wav", command_wav, 44_100)
    config = _script_config()
    riva.client.add_audio_file_specs_to_config(config, path)
    assert (config.sample_rate_hertz, config.audio_channel_count) == (44_100, 1)
    assert [r.alternatives[0].transcript for r in _offline(asr_server.address, path, config).results] == [COMMAND]


@pytest.mark.parametrize("mode", ["streaming", "offline"])
def test_flac_and_stereo_and_g711_files(
    asr_server: ServiceProcess, tmp_path: Path, command_wav: bytes, mode: str
) -> None:
    wav = _wav(tmp_path / "c.wav", command_wav)
    files = [
        _sox(wav, tmp_path / "c.flac"),
        _wav(tmp_path / "stereo.wav", command_wav, 16_000, channels=2),
        _sox(wav, tmp_path / "ulaw.wav", "-e", "u-law", "-r", "8000"),
        _sox(wav, tmp_path / "alaw.wav", "-e", "a-law", "-r", "8000"),
    ]
    for path in files:
        if mode == "streaming":
            heard = _finals(_streaming(asr_server.address, path, _script_config()))
        else:
            heard = [r.alternatives[0].transcript for r in _offline(asr_server.address, path, _script_config()).results]
        assert heard == [COMMAND], path.name


def test_raw_mulaw_with_the_format_in_the_config(
    asr_server: ServiceProcess, tmp_path: Path, command_wav: bytes
) -> None:
    raw = _sox(_wav(tmp_path / "c.wav", command_wav), tmp_path / "c.ul", "-e", "u-law", "-r", "8000", "-t", "raw")
    config = _script_config()
    config.encoding, config.sample_rate_hertz = riva.client.AudioEncoding.MULAW, 8_000
    response = client(asr_server.address).offline_recognize(raw.read_bytes(), config)
    assert [r.alternatives[0].transcript for r in response.results] == [COMMAND]


def test_list_models_finds_each_model_for_offline_and_streaming(asr_server: ServiceProcess) -> None:
    reply = client(asr_server.address).stub.GetRivaSpeechRecognitionConfig(rasr.RivaSpeechRecognitionConfigRequest())
    by_type: dict[str, dict[str, list[dict[str, list[str]]]]] = {}
    for kind in ("offline", "online"):  # the two scripts' --list-models loops, each for its own type
        models: dict[str, list[dict[str, list[str]]]] = {}
        for model_config in reply.model_config:
            if model_config.parameters["type"] == kind:
                models.setdefault(model_config.parameters["language_code"], []).append(
                    {"model": [model_config.model_name]}
                )
        by_type[kind] = models
    expected = {"en-US": [{"model": ["sphinx-en-us-grammar"]}, {"model": ["sphinx-en-us-generic"]}]}
    assert by_type == {"offline": expected, "online": expected}


def test_a_lower_case_language_code_and_word_time_offsets(
    asr_server: ServiceProcess, tmp_path: Path, command_wav: bytes
) -> None:
    path = _wav(tmp_path / "c.wav", command_wav)
    results = _streaming(asr_server.address, path, _script_config(language="en-us", words=True))
    final = [r for r in results if r.is_final]
    assert _finals(results) == [COMMAND]
    alt = final[0].alternatives[0]
    assert [w.word for w in alt.words] == COMMAND.split()
    assert all(w.end_time > w.start_time for w in alt.words)
    assert 250 <= alt.words[0].start_time <= 600  # the speech begins after 0.3 s of silence
    response = _offline(asr_server.address, path, _script_config(language="EN-us", words=True))
    assert [w.word for w in response.results[0].alternatives[0].words] == COMMAND.split()


def test_boosted_words_join_the_grammar_for_that_request(asr_server: ServiceProcess, tmp_path: Path) -> None:
    # "yoga mat" is no product of the server's vocabulary: unheard without the boost, heard with it
    path = _wav(tmp_path / "yoga.wav", say("is yoga mat in stock", tmp_path))
    boosted = _script_config(boosted=["yoga mat"])
    assert [r.alternatives[0].transcript for r in _offline(asr_server.address, path, boosted).results] == [
        "is yoga mat in stock"
    ]
    assert _finals(_streaming(asr_server.address, path, boosted)) == ["is yoga mat in stock"]
    plain = [r.alternatives[0].transcript for r in _offline(asr_server.address, path, _script_config()).results]
    assert plain != ["is yoga mat in stock"]


def test_three_commands_one_second_apart_all_come_back(asr_server: ServiceProcess, tmp_path: Path) -> None:
    gap = np.zeros(int(16_000 * 0.2), dtype="<i2").tobytes()  # with say()'s 0.8 s after and 0.3 s before: 1.3 s
    pcm = gap.join(say(text, tmp_path) for text in THREE)
    path = _wav(tmp_path / "three.wav", pcm)
    config = _script_config(stop_history=2000)
    assert _finals(_streaming(asr_server.address, path, config)) == THREE
    assert [r.alternatives[0].transcript for r in _offline(asr_server.address, path, config).results] == THREE


def test_max_alternatives_gives_an_n_best(asr_server: ServiceProcess, tmp_path: Path, command_wav: bytes) -> None:
    path = _wav(tmp_path / "c.wav", command_wav)
    response = _offline(asr_server.address, path, _script_config(max_alternatives=3))
    alternatives = response.results[0].alternatives
    assert 1 <= len(alternatives) <= 3
    assert alternatives[0].transcript == COMMAND
    assert len({a.transcript for a in alternatives}) == len(alternatives)  # distinct word strings


def test_silence_is_an_empty_result(asr_server: ServiceProcess, tmp_path: Path) -> None:
    path = _wav(tmp_path / "silence.wav", bytes(16_000 * 2 * 2))
    assert list(_offline(asr_server.address, path, _script_config()).results) == []
    assert _finals(_streaming(asr_server.address, path, _script_config())) == []


def test_request_ids_are_echoed(asr_server: ServiceProcess, tmp_path: Path, command_wav: bytes) -> None:
    path = _wav(tmp_path / "c.wav", command_wav)
    stub = client(asr_server.address).stub
    reply = stub.Recognize(
        rasr.RecognizeRequest(config=_script_config(), audio=path.read_bytes(), id=rcommon.RequestId(value="req-7"))
    )
    assert reply.id.value == "req-7"
    streaming = riva.client.StreamingRecognitionConfig(config=_script_config(), interim_results=False)
    requests = [
        rasr.StreamingRecognizeRequest(streaming_config=streaming, id=rcommon.RequestId(value="req-8")),
        rasr.StreamingRecognizeRequest(audio_content=path.read_bytes()),
    ]
    responses = list(stub.StreamingRecognize(iter(requests)))
    assert responses and all(r.id.value == "req-8" for r in responses)


def test_recognize_over_the_size_limit_is_refused_with_the_limit_named(
    asr_server: ServiceProcess, tmp_path: Path
) -> None:
    path = _wav(tmp_path / "long.wav", bytes(5 * 1024 * 1024))
    with pytest.raises(grpc.RpcError) as caught:
        _offline(asr_server.address, path, _script_config())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "exceed the 4194304-byte limit of Recognize (ASR_MAX_RECOGNIZE_BYTES)" in str(caught.value.details())


def test_flags_the_engine_cannot_honour_are_refused_not_ignored(
    asr_server: ServiceProcess, tmp_path: Path, command_wav: bytes
) -> None:
    path = _wav(tmp_path / "c.wav", command_wav)
    diarization = _script_config()
    riva.client.add_speaker_diarization_to_config(diarization, True, 3)
    custom = _script_config()
    riva.client.add_custom_configuration_to_config(custom, "apply_partial_itn:true")
    for config, message in [(diarization, "speaker diarization is not available"), (custom, "apply_partial_itn")]:
        with pytest.raises(grpc.RpcError) as caught:
            _offline(asr_server.address, path, config)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert message in str(caught.value.details())
