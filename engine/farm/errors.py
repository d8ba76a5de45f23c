"""The one error a farm render reports."""


class FarmError(RuntimeError):
    """A farm render cannot go on (no scheduler, a worker without the model, a failed chunk);
    ``str()`` is one line naming the cause."""
