"""The error types anymask raises for bad input; each message is one line naming the file and the problem."""


class AnymaskError(Exception):
    """Base class: a problem with the user's input or environment, reported as one line."""


class CheckpointError(AnymaskError):
    """A checkpoint file is missing, truncated, foreign or does not match the variant."""


class ModelDownloadError(AnymaskError):
    """A model could not be downloaded (offline, bad URL, checksum mismatch)."""


class MediaError(AnymaskError):
    """A video or image folder cannot be opened, or a frame cannot be decoded."""


class AnnotationFormatError(AnymaskError):
    """An annotation file is malformed (bad JSON, wrong types, out-of-image geometry, unknown classes)."""


class ProjectError(AnymaskError):
    """A project store cannot be opened (locked by another process, corrupt, wrong schema)."""


class SessionBusyError(AnymaskError):
    """The session is tracking in the background; cancel or wait before changing annotations."""
