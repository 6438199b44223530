"""Is the person live?  Blink detection, mouth movement, the read-digits decision,
lip-voice sync, and signed one-time challenges with their single-use stores.
"""
