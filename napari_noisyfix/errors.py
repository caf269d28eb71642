"""The one exception type for bad input: it always names the file or image and the problem."""


class NoisyFixError(ValueError):
    """Bad input or state that the user can fix (a file, a shape, a missing project...)."""
