"""A bounded PDF scanner: every object a viewer could read, checked for active content.

The scanner reads the file three ways and checks the union: every `N G obj` header anywhere in
the bytes (what a viewer repairing a broken file finds, and every revision of an incrementally
updated one), every offset the cross-reference tables and streams declare (what a viewer reading
the xref finds), and every object inside an object stream. Streams are decoded here under a cap
on the decoded bytes that grows with the file's size; parsing, copying and decoding are charged
to a budget proportional to the input, so the cost stays linear in the file's size whatever its
shape. Pure Python, no Django: the caller maps a `ScanRefused` to its own errors, and any other
failure inside the scanner is turned into one (it fails closed).
"""

from .scan import ScanReport, pdf_scan
from .syntax import ACTIVE, LIMIT, MALFORMED, UNSUPPORTED, Limits, ScanRefused

__all__ = ["ACTIVE", "LIMIT", "MALFORMED", "UNSUPPORTED", "Limits", "ScanRefused", "ScanReport",
           "pdf_scan"]
