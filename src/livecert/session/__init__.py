"""The one code path from frames to a decision: the step machine, the per-frame
trace recorder, the pure ``decide()`` and :func:`verify`.
"""
