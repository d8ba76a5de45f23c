"""The one error of the record room."""


class RecordError(Exception):
    """Recording failed; ``str()`` is one line naming the file and the cause."""
