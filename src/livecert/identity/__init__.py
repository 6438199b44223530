"""Is it the right person?  Face detection for photos, alignment, descriptors
(behind the :class:`~livecert.identity.embedding.Embedder` protocol), enrollment
and matching.
"""
