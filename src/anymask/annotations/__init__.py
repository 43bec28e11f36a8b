"""anymask.annotations: shapes, labels and tracks, RLE, mask geometry, X-AnyLabeling/labelme files."""

from .label_file import LabelFile, read_label_file, write_label_file
from .shapes import Label, ObjectMask, Shape, Track, palette_color

__all__ = ["Shape", "Label", "ObjectMask", "Track", "palette_color", "LabelFile", "read_label_file", "write_label_file"]
