"""Spoken digits: the recogniser protocol and vocabulary, voice activity, and the
PocketSphinx and Moonshine backends behind the English router.
"""
