"""The one exception type for bad user input."""


class InputError(ValueError):
    """A user-supplied file or setting is wrong.

    The message names the file (or config key), the row, sample or variant at fault,
    and what to do about it. Raised at the boundary by readers and validators; code
    downstream of a reader trusts its output.
    """
