"""Into the EMR record (EM-1..EM-5): replies, completed forms and patient files imported per EMR profile.

``settings`` reads and saves the site's EMR settings; ``queue`` finds what the portal left and keeps
the import queue; ``importer`` turns one queue item into chart entries (``chart``) or files in an
import folder (``dropfolder``), converting files for Accuro (``convert``
with ``images``, ``textpdf`` and ``tiffpdf``, the last two writing PDFs through ``pdfwrite``); ``jobs`` is
the worker's periodic job; ``retention`` deletes portal copies some days after an import.
"""


def N_(message: str) -> str:  # noqa: N802 - the gettext name for "mark, translate later"
    """Mark ``message`` for the French catalogue; it is translated where it is shown or written."""
    return message
