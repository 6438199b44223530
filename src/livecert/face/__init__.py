"""The face in a frame: MediaPipe landmarks (the only mediapipe import), geometry on
the mesh, and per-frame quality measurements.
"""
