"""The Vosk plug-in for Mandarin digits: checking and loading a model folder the deployer
supplies, on audio the tests make with espeak-ng's Mandarin voice.

No Mandarin model ships in a package, and tests download nothing, so the
decoding path runs against a stand-in ``vosk`` module that records what
livecert hands it; a real model is used only when ``LIVECERT_VOSK_ZH_MODEL``
names one (:func:`test_real_model_hears_espeak_digits`).  Synthetic voices say
nothing about accuracy on real people.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
import wave
from pathlib import Path

import numpy as np
import pytest

from livecert.arrays import FloatArray
from livecert.errors import ErrorCode, ModelError
from livecert.speech.recogniser import MANDARIN_DIGITS
from livecert.speech.vosk_model import SAMPLE_RATE, VoskDigitRecogniser, check_model_dir, vosk_available

#: How espeak-ng's ``cmn-latn-pinyin`` voice is given each digit.  Its ``cmn``
#: voice (Debian 12, espeak-ng 1.51) reads Chinese characters as pinyin but
#: speaks the tone numbers in English ("四" as "si four"), so tests give pinyin.
PINYIN_WITH_TONES = ("ling2", "yi1", "er4", "san1", "si4", "wu3", "liu4", "qi1", "ba1", "jiu3")

V2_FILES = (
    "am/final.mdl",
    "conf/mfcc.conf",
    "conf/model.conf",
    "graph/HCLr.fst",
    "graph/Gr.fst",
    "graph/disambig_tid.int",
)
V1_FILES = ("final.mdl", "mfcc.conf", "HCLG.fst")


def _require(available: bool, what: str) -> None:
    """Skip without ``what`` (scripts/test.sh installs it), fail under CI=true."""
    if not available:
        message = f"{what} is not installed (scripts/test.sh installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def speak_digits(
    digits: str, path: Path, *, voice: str = "m1", speed: int = 130, pitch: int = 50
) -> tuple[FloatArray, int]:
    """``digits`` read by espeak-ng's Mandarin voice, a comma's pause between them.

    Returns
    -------
    samples : ndarray of float32, shape (M,)
    sample_rate : int
    """
    _require(shutil.which("espeak-ng") is not None, "espeak-ng")
    text = ", ".join(PINYIN_WITH_TONES[int(d)] for d in digits)
    command = ["espeak-ng", "-v", f"cmn-latn-pinyin+{voice}", "-s", str(speed), "-p", str(pitch), "-w", str(path)]
    subprocess.run([*command, text], check=True, capture_output=True, timeout=60)
    with wave.open(str(path)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return (pcm.astype(np.float32) / 32768.0), w.getframerate()


def _model_dir(root: Path, files: tuple[str, ...] = V2_FILES) -> Path:
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"placeholder\n")
    return root


class FakeVosk:
    """Stands in for the ``vosk`` module: records the model folder, grammar and audio
    it is given, and answers with ``transcript``, its first word as an utterance ended
    at a pause after the first second of audio, the rest as the final result."""

    def __init__(self, transcript: str, known: set[str]) -> None:
        self.transcript, self.known = transcript, known
        self.models: list[str] = []
        self.calls: list[tuple[float, list[str], bytes]] = []
        fake = self

        class Model:
            def __init__(self, model_path: str) -> None:
                fake.models.append(model_path)

            def vosk_model_find_word(self, word: str) -> int:
                return 1 if word in fake.known else -1

        class KaldiRecognizer:
            def __init__(self, model: Model, rate: float, grammar: str) -> None:
                self.rate, self.grammar, self.audio = rate, json.loads(grammar), b""
                self.words = fake.transcript.split()

            def AcceptWaveform(self, data: bytes) -> bool:  # noqa: N802 - vosk's name
                before, self.audio = len(self.audio), self.audio + data
                return before < 2 * int(self.rate) <= len(self.audio)

            def Result(self) -> str:  # noqa: N802 - vosk's name
                first, self.words = self.words[:1], self.words[1:]
                return json.dumps({"text": " ".join(first)}, ensure_ascii=False)

            def FinalResult(self) -> str:  # noqa: N802 - vosk's name
                fake.calls.append((self.rate, self.grammar, self.audio))
                return json.dumps({"text": " ".join(self.words)}, ensure_ascii=False)

        self.module = types.ModuleType("vosk")
        self.module.Model = Model  # type: ignore[attr-defined]
        self.module.KaldiRecognizer = KaldiRecognizer  # type: ignore[attr-defined]
        self.module.SetLogLevel = lambda level: None  # type: ignore[attr-defined]


def test_missing_model_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as err:
        VoskDigitRecogniser(tmp_path / "vosk-model-small-cn-0.22")
    assert err.value.code is ErrorCode.MODEL_MISSING and "downloads nothing" in err.value.message


def test_archive_instead_of_folder(tmp_path: Path) -> None:
    archive = tmp_path / "vosk-model-small-cn-0.22.zip"
    archive.write_bytes(b"PK\x03\x04")
    with pytest.raises(ModelError) as err:
        check_model_dir(archive)
    assert err.value.code is ErrorCode.MODEL_UNUSABLE and "unpack" in err.value.message


def test_parent_folder_names_the_model_inside(tmp_path: Path) -> None:
    inner = _model_dir(tmp_path / "vosk-model-small-cn-0.22")
    with pytest.raises(ModelError, match=f"did you mean {inner}"):
        check_model_dir(tmp_path)
    with pytest.raises(ModelError, match="give the folder that holds am/final.mdl"):
        check_model_dir(inner / "conf")


@pytest.mark.parametrize("missing", ["conf/mfcc.conf", "conf/model.conf", "graph/Gr.fst", "graph/disambig_tid.int"])
def test_incomplete_model_names_what_is_missing(tmp_path: Path, missing: str) -> None:
    root = _model_dir(tmp_path)
    (root / missing).unlink()
    with pytest.raises(ModelError) as err:
        check_model_dir(root)
    assert err.value.code is ErrorCode.MODEL_UNUSABLE and Path(missing).name in err.value.message


@pytest.mark.parametrize("files", [V2_FILES, V1_FILES, (*V2_FILES[:3], "graph/HCLG.fst")])
def test_complete_layouts_are_accepted(tmp_path: Path, files: tuple[str, ...]) -> None:
    assert check_model_dir(_model_dir(tmp_path, files)) == tmp_path


def test_without_the_vosk_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vosk", None)  # import vosk raises ImportError
    recogniser = VoskDigitRecogniser(_model_dir(tmp_path))  # the folder is checked without vosk
    with pytest.raises(ModelError) as err:
        recogniser.recognise(np.zeros(16000, np.float32), 16000, 4)
    assert err.value.code is ErrorCode.MODEL_UNAVAILABLE and "livecert[mandarin]" in err.value.message


def test_real_vosk_refuses_damaged_model_files(tmp_path: Path) -> None:
    _require(vosk_available(), "the vosk package (extra 'mandarin')")
    recogniser = VoskDigitRecogniser(_model_dir(tmp_path))  # every file present, none a model
    with pytest.raises(ModelError) as err:
        recogniser.load()
    assert err.value.code is ErrorCode.MODEL_UNUSABLE and str(tmp_path) in err.value.message


def test_espeak_audio_reaches_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loading code and the audio path, on Mandarin digits espeak-ng spoke at 22.05 kHz."""
    samples, rate = speak_digits("4729", tmp_path / "4729.wav", voice="f2", speed=120)
    assert rate != SAMPLE_RATE and np.abs(samples).max() > 0.1  # resampling is exercised, and it spoke
    known = set(MANDARIN_DIGITS) - {"〇", "兩"}  # as a simplified-Chinese model's vocabulary would
    fake = FakeVosk("四 七 两 九", known)
    monkeypatch.setitem(sys.modules, "vosk", fake.module)
    model = _model_dir(tmp_path / "model")
    recogniser = VoskDigitRecogniser(model)
    assert recogniser.recognise(samples, rate, 4) == "4729"
    assert recogniser.recognise(samples, rate, 4) == "4729"
    assert fake.models == [str(model)]  # loaded once, from the folder given
    heard_rate, grammar, audio = fake.calls[0]
    assert heard_rate == SAMPLE_RATE
    assert set(grammar) == known | {"[unk]"}  # words the model does not know are left out
    pcm = np.frombuffer(audio, dtype="<i2")
    assert abs(pcm.size / SAMPLE_RATE - samples.size / rate) < 0.01  # the whole reading, at 16 kHz
    assert abs(np.abs(pcm).max() / 32767 - np.abs(samples).max()) < 0.05  # not rescaled or clipped


def test_model_of_another_language_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeVosk("", known={"one", "two"})  # an English model
    monkeypatch.setitem(sys.modules, "vosk", fake.module)
    recogniser = VoskDigitRecogniser(_model_dir(tmp_path), language="zh")
    with pytest.raises(ModelError) as err:
        recogniser.load()
    assert err.value.code is ErrorCode.MODEL_UNUSABLE and "is it a model of that language" in err.value.message


def test_silence_and_bad_audio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeVosk("四", set(MANDARIN_DIGITS))
    monkeypatch.setitem(sys.modules, "vosk", fake.module)
    recogniser = VoskDigitRecogniser(_model_dir(tmp_path))
    assert recogniser.recognise(np.array([np.nan] * 1600, np.float32), 16000, 1) == ""
    assert recogniser.recognise(np.zeros(0, np.float32), 16000, 1) == ""
    assert fake.models == []  # nothing to hear: the model is not even loaded


def test_real_model_hears_espeak_digits(tmp_path: Path) -> None:
    """With a Mandarin Vosk model of your own (``LIVECERT_VOSK_ZH_MODEL=/path/to/vosk-model-small-cn-0.22``):
    espeak-ng's Mandarin digits go through the real model.  A smoke test of the plug-in, not a
    measure of accuracy on real people."""
    model = os.environ.get("LIVECERT_VOSK_ZH_MODEL")
    if not model:
        pytest.skip("no Mandarin Vosk model: set LIVECERT_VOSK_ZH_MODEL to an unpacked model folder")
    _require(vosk_available(), "the vosk package (extra 'mandarin')")
    recogniser = VoskDigitRecogniser(model)
    heard = []
    for digits, voice in (("4729", "m1"), ("180356", "f2"), ("6093", "m3")):
        samples, rate = speak_digits(digits, tmp_path / f"{digits}.wav", voice=voice, speed=110)
        heard.append((digits, recogniser.recognise(samples, rate, len(digits))))
    print(heard)
    assert all(h.isdigit() or h == "" for _, h in heard)
    assert any(d == h for d, h in heard), heard


def test_vosk_failing_on_audio_is_a_model_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeVosk("四", set(MANDARIN_DIGITS))

    def refuse(*args: object) -> None:
        raise Exception("Failed to create a recognizer")  # what vosk raises

    fake.module.KaldiRecognizer = refuse  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vosk", fake.module)
    recogniser = VoskDigitRecogniser(_model_dir(tmp_path))
    with pytest.raises(ModelError) as err:
        recogniser.recognise(np.ones(1600, np.float32) * 0.1, 16000, 1)
    assert err.value.code is ErrorCode.MODEL_UNUSABLE and "Failed to create a recognizer" in err.value.message
