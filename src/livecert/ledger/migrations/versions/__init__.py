"""One module per schema revision; a revision, once released, never changes."""
