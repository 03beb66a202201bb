"""Errors users can act on. Each message names the problem; the CLI prints it on one line."""


class JlicError(Exception):
    """Base class of every error jlic reports to users without a traceback."""


class ModelFileError(JlicError):
    """A model file that is missing, not a jlic model, corrupted or of another version."""


class BitstreamError(JlicError):
    """A .jlic file that is truncated, corrupted, too large or written by another model."""


class ImageError(JlicError):
    """An input image that cannot be read or coded."""


class UsageError(JlicError):
    """Command-line options that do not go together or do not fit the model."""


class RateError(JlicError):
    """A rate input (quality, target bpp) that the model cannot take."""
