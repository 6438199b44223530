"""livecert benchmark suite: speed and accuracy of :func:`livecert.verify` on
recorded videos listed in a manifest, beside the tutorial blink rule.

Run ``python -m benchmarks DATA_DIR --help``; the manifest format is in
``benchmarks/README.md``.  Only livecert's public API is benchmarked.
"""
