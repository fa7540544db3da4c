"""C-arm previews: digitally reconstructed radiographs of every planned path.

`geometry` (one 3×4 projection matrix from LPS mm to detector pixels), `drr` (the line
integrals from the CT), `views` (bull's-eye, progression, AP with the endplates squared,
ipsilateral oblique, true lateral, and their C-arm angles in the planning table's words),
`preview` (the DRR with the plan drawn on it); ``blockplan fluoro`` is `blockplan._cli_fluoro`.

Decision support, not a medical device.
"""

from blockplan.fluoro.drr import DrrOptions, compute_drr, to_display
from blockplan.fluoro.geometry import CArmGeometry, DetectorSpec
from blockplan.fluoro.preview import FluoroPreview, fluoro_preview, preview_record
from blockplan.fluoro.views import FluoroView, ViewKind, target_views

__all__ = [
    "CArmGeometry",
    "DetectorSpec",
    "DrrOptions",
    "FluoroPreview",
    "FluoroView",
    "ViewKind",
    "compute_drr",
    "fluoro_preview",
    "preview_record",
    "target_views",
    "to_display",
]
