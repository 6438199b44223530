"""A recording's frames meshed one step ahead, on a worker thread.

MediaPipe's graph releases the GIL while it runs, so while the session
analyses frame *n* (quality, trace, spoof cues: Python and OpenCV), the
worker meshes frame *n + 1*.  It uses the session's own
:class:`~livecert.face.landmarks.FaceLandmarker`, on every frame and in
order, so each observation is exactly what a call from the session's
thread would have given.  Only for recordings (:func:`livecert.verify`):
a live session needs the answer for the frame it shows.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from livecert.arrays import Image
from livecert.errors import ErrorCode, InputError, SessionStateError
from livecert.face.landmarks import FaceLandmarker, FaceObservation
from livecert.io.frames import Frame, check_frame, checked_timestamp
from livecert.io.handoff import Handoff

#: Frames meshed and not yet analysed, at most (each is one decoded picture).
AHEAD = 2


@dataclass(frozen=True)
class Meshed:
    """One frame, checked and meshed.

    Attributes
    ----------
    rgb : ndarray of uint8, shape (H, W, 3)
    t_s : float
    decode_ms : float
        The decoder's time for this frame.
    observation : FaceObservation
    mesh_ms : float
        Time the landmarker took (on the worker thread).
    """

    rgb: Image
    t_s: float
    decode_ms: float
    observation: FaceObservation
    mesh_ms: float


def checked_frame(frame_rgb: object, timestamp_s: object, last_t: float, index: int) -> tuple[Image, float]:
    """A frame and its timestamp as :meth:`LivenessSession.push` accepts them.

    Raises
    ------
    InputError
        A frame of the wrong type, dtype or shape.
    SessionStateError
        A timestamp that is not a number (``BAD_TIMESTAMP``) or does not
        increase (``TIMESTAMP_NOT_INCREASING``).
    """
    rgb = check_frame(frame_rgb, f"frame {index}")
    t = checked_timestamp(timestamp_s, last_t, f"frame {index}", SessionStateError)
    return rgb, t


class MeshAhead:
    """Iterate over a recording's frames as :class:`Meshed`, meshed on a worker thread.

    Parameters
    ----------
    landmarker : FaceLandmarker
        Video mode; used only by the worker until :meth:`close` returns.
    frames : iterable of Frame
        Read only by the worker.
    first_index : int
        Frames already pushed (for error messages).
    last_t : float
        The last timestamp already pushed.
    limit_s : float
        Stop after the first frame at least this long after the first one
        (a camera never ends on its own).

    Errors (bad frames, timestamps, decoding) are raised by the iteration at
    the frame where they happened.  Use as a context manager: leaving it stops
    the worker, and waits for any mesh it is computing.
    """

    def __init__(
        self,
        landmarker: FaceLandmarker,
        frames: Iterable[Frame],
        *,
        first_index: int = 0,
        last_t: float = -math.inf,
        limit_s: float = math.inf,
    ) -> None:
        self._landmarker = landmarker
        self._frames = frames
        self._first_index = first_index
        self._last_t = last_t
        self._limit_s = limit_s
        self._handoff: Handoff[Meshed] = Handoff(AHEAD)
        self._meshing = threading.Lock()  # held while the worker uses the landmarker
        self._thread = threading.Thread(target=self._work, name="livecert-mesh", daemon=True)

    def __enter__(self) -> MeshAhead:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Meshed]:
        return iter(self._handoff)

    def close(self) -> None:
        """Stop the worker; on return it no longer uses the landmarker."""
        self._handoff.stop()
        with self._meshing:
            pass  # a mesh under way has finished; the worker checks the flag before the next one
        self._thread.join(timeout=1.0)  # it may still wait for the decoder, without the landmarker

    def _work(self) -> None:
        try:
            first_t: float | None = None
            last_t = self._last_t
            for i, frame in enumerate(self._frames, start=self._first_index):
                if not isinstance(frame, Frame):
                    raise InputError(
                        f"frame {i}: push_recording() takes livecert Frame objects (from livecert.open_source), "
                        f"not {type(frame).__name__}; push (rgb, t) pairs one by one with push()",
                        code=ErrorCode.BAD_ARGUMENT,
                    )
                rgb, t = checked_frame(frame.rgb, frame.t_s, last_t, i)
                last_t = t
                with self._meshing:
                    if self._handoff.stopped:
                        return
                    t0 = time.perf_counter()
                    observation = self._landmarker.process(rgb, t)
                    mesh_ms = (time.perf_counter() - t0) * 1e3
                if not self._handoff.put(Meshed(rgb, t, frame.decode_ms, observation, mesh_ms)):
                    return
                first_t = t if first_t is None else first_t
                if t - first_t >= self._limit_s:
                    break
        except BaseException as exc:  # handed to the reader, raised at its frame
            self._handoff.fail(exc)
            return
        self._handoff.end()
