"""Input: frame sources (video files, webcams, image folders, arrays), image and audio
decoding, and file checks.  Knows nothing of faces or liveness.
"""
