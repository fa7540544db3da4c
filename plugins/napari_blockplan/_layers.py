"""The layers blockplan owns, drawn from the case.

Each layer is named ``"blockplan: <role>"`` and tagged ``metadata["blockplan"]["role"]``.
They are views of the case: `refresh_layers` redraws them from a `Case` after every
change, so reopening a case restores every layer exactly. They are read-only
(`keep_showing_the_case`): napari's keys that delete or paste points or shapes do nothing on
them but say where to edit, and an overlay whose data napari changes anyway, or that the
layer list removes, is drawn again from the case at once; renamed or given other transforms,
it gets its name and place back. A copy napari makes of one (Duplicate Layer, Convert) is
the physician's own layer (`_disown`): no role, named `COPY_NAME`; so is a copy of a
series' image or of a proposal. A layer of the physician's cannot hold a ``"blockplan: "``
name (`_rename_soon`), and `is_the_cases` tells their layers from the case's (Ctrl+Z on the
canvas undoes the case only with one of the case's selected). Points live in world
coordinates (LPS as ``(z, y, x)``, see `_convert`). The targets' names are a layer of their
own (``"target names"``: napari places every text of a layer at one offset, and names of
close targets must be placed apart, `blockplan.planning.label_places`). Targets are
coloured by ledger status with the core's one table, `blockplan.outcomes.STATUS_COLOURS`
(re-exported here), which the report's pain-source map uses too.
"""

from __future__ import annotations

import functools
import re
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from blockplan.case import Case, MaskGrid, ScarRegion
from blockplan.outcomes.evidence import STATUS_COLOURS, UNTESTED
from blockplan.planning.labels import label_places
from blockplan.planning.projection import (
    IN_PLANE_MM,
    path_legend,
    path_on_plane,
    path_parts_on_plane,
)
from blockplan.planning.wording import VERDICT_COLOURS, target_names, target_tag
from napari_blockplan._convert import display_grid, lps_to_world, world_to_lps

if TYPE_CHECKING:
    import napari

__all__ = [
    "COPY_NAME",
    "IMAGE_SPARE",
    "OWN_NAME",
    "PREFIX",
    "RELAYOUT_MS",
    "ROLES",
    "SPARE_KEY",
    "STATUS_COLOURS",
    "VERDICT_COLOURS",
    "adopt_as_scar_layer",
    "follow_first_layer",
    "insert_layer",
    "is_open",
    "is_spare",
    "is_the_cases",
    "keep_overlays_on_top",
    "keep_showing_the_case",
    "keeping_active_layer",
    "layer_for",
    "make_image_spare",
    "name_sizes_px",
    "not_stepped_here",
    "path_legend_shown",
    "refresh_layers",
    "scar_display_grid",
    "scar_layer_data",
    "shows_the_case",
    "spare_for",
    "take_image_spare",
]

ROLES = (
    "levels",
    "landmarks",
    "targets",
    "target names",
    "trajectories",
    "paths beyond the slice",
    "scar",
)

_POINT_SIZE_MM = 5.0

SPARE_KEY = "blockplan_spare"
"""Layer metadata key of a *spare*: a hidden, empty layer made ahead (before the window is
shown, or on entering seed mode) that a later step adopts instead of making a layer. Its
value is the role it will take; a spare has no ``metadata["blockplan"]`` role."""


PREFIX = "blockplan: "
"""How the names of the case's layers begin (`_name`)."""


def _name(role: str) -> str:
    return f"{PREFIX}{role}"


def layer_for(viewer: napari.viewer.Viewer, role: str) -> Any:
    """The blockplan layer of a role, or None."""
    for layer in viewer.layers:
        if layer.metadata.get("blockplan", {}).get("role") == role:
            return layer
    return None


_DYNAMIC = ("features", "face_color")  # what changes with the case; the rest is set once


@contextmanager
def keeping_active_layer(viewer: napari.viewer.Viewer) -> Iterator[None]:
    """Add an overlay without taking the active layer from the physician's image.

    napari makes every inserted layer the active one; the selection is put back as it
    was with its events blocked, so nothing listening sees a change that never stays:
    the layer controls do not switch to the new layer and back, and the canvas is not
    laid out and redrawn twice (≈ 30 ms less per layer in software GL).
    """
    selection = viewer.layers.selection
    active, selected = selection.active, list(selection)
    with selection.events.blocker_all():
        yield
        kept = [layer for layer in selected if layer in viewer.layers]
        selection.clear()
        if active is not None and active in viewer.layers:
            selection.active = active
        selection.update(kept)


def _points(viewer: napari.viewer.Viewer, role: str, data: np.ndarray, **style: Any) -> Any:
    layer = layer_for(viewer, role)
    data = np.asarray(data, dtype=float).reshape(-1, 3)
    if layer is None:
        if not len(data):
            return None  # an overlay is made when it has something to show
        from napari.layers import Points

        layer = _add_overlay(
            viewer,
            Points(
                data,
                ndim=3,
                name=_name(role),
                metadata={"blockplan": {"role": role}},
                **({"size": _POINT_SIZE_MM} | style),
            ),
        )
        _read_only(viewer, layer)
        layer.metadata["blockplan"]["drawn"] = _signature(data, style)
        return layer
    signature = _signature(data, style)
    if layer.metadata["blockplan"].get("drawn") == signature:
        return layer  # unchanged: redrawing a layer costs ~10 ms
    with layer.events.blocker_all():
        layer.data = data
        for key in _DYNAMIC:
            if key in style:
                setattr(layer, key, style[key])
    layer.metadata["blockplan"]["drawn"] = signature
    layer.refresh()
    return layer


def _signature(data: np.ndarray, style: dict[str, Any]) -> tuple[Any, ...]:
    dynamic = tuple(repr(style.get(key)) for key in _DYNAMIC)
    return (data.tobytes(), *dynamic)


def insert_layer(viewer: napari.viewer.Viewer, layer: Any, *, activate: bool = False) -> Any:
    """Add a napari layer where it belongs: blockplan's overlays on top, anything else
    (images, a proposal) just below them and below the spares — inserted there, not
    appended and then moved (each move re-orders the scene and redraws the canvas).
    Unless ``activate``, the active layer stays the physician's (`keeping_active_layer`).
    Returns the layer."""
    index = len(viewer.layers)
    if viewer in _OVERLAID and not _on_top(layer):
        index = next((n for n, lay in enumerate(viewer.layers) if _on_top(lay)), index)
    if activate:
        viewer.layers.insert(index, layer)
    else:
        with keeping_active_layer(viewer):
            viewer.layers.insert(index, layer)
    return layer


def _on_top(layer: Any) -> bool:
    """Whether images go below ``layer``: blockplan's overlays and the spares."""
    return layer.metadata.get("blockplan", {}).get("role") in ROLES or is_spare(layer)


_OVERLAID: weakref.WeakSet[Any] = weakref.WeakSet()
"""Viewers whose overlays are kept on top (`keep_overlays_on_top`)."""


def keep_overlays_on_top(viewer: napari.viewer.Viewer) -> None:
    """From now on, move layers added later (images) below blockplan's overlay layers
    (and the spares)."""
    if viewer in _OVERLAID:
        return

    def _on_inserted(event: Any) -> None:
        layer = event.value
        if _on_top(layer) or layer in _COPIES or layer in _PUT_BACK:
            return
        overlays = [n for n, lay in enumerate(viewer.layers) if _on_top(lay)]
        index = viewer.layers.index(layer)
        if overlays and index > overlays[0]:
            viewer.layers.move(index, overlays[0])

    viewer.layers.events.inserted.connect(_on_inserted)
    _OVERLAID.add(viewer)


# -- spares: layers napari builds before the window is shown -------------------------------
IMAGE_SPARE = "image"
"""``SPARE_KEY`` value of the spare image layer the first series shown adopts."""

_ADOPTED = frozenset(
    ("name", "scale", "translate", "contrast_limits", "colormap", "blending", "metadata", "visible")
)
"""The image-layer keyword arguments `take_image_spare` assigns (`_convert.layer_kwargs`)."""

_FOLLOWED: weakref.WeakSet[Any] = weakref.WeakSet()
"""Viewers whose first layer is fitted by blockplan (`follow_first_layer`)."""


def is_spare(layer: Any) -> bool:
    """Whether ``layer`` is a spare (hidden, empty, waiting to be adopted)."""
    return SPARE_KEY in layer.metadata


def spare_for(viewer: napari.viewer.Viewer, role: str) -> Any:
    """The spare that will take ``role`` (e.g. `IMAGE_SPARE`), or None."""
    return next((lay for lay in viewer.layers if lay.metadata.get(SPARE_KEY) == role), None)


def make_image_spare(viewer: napari.viewer.Viewer) -> Any:
    """Make the hidden, empty image layer the first series shown adopts (`take_image_spare`).

    napari builds a layer — its controls, its vispy visual, its overlays — in one call on
    the GUI thread (≈ 0.25–0.4 s in software GL); made before the window is shown, that
    call is no stall. Returns the spare.
    """
    from napari.layers import Image

    layer = Image(
        np.zeros((1, 1, 1), np.float32),
        name="blockplan: next image (empty)",
        contrast_limits=(0.0, 1.0),
        visible=False,
        metadata={SPARE_KEY: IMAGE_SPARE},
    )
    follow_first_layer(viewer)
    return insert_layer(viewer, layer)


def take_image_spare(viewer: napari.viewer.Viewer, data: Any, kwargs: Mapping[str, Any]) -> Any:
    """Show an image in the spare image layer, with the layer keyword arguments
    ``kwargs`` (`_convert.layer_kwargs`); returns the layer, or None when there is no
    spare (or ``kwargs`` asks for what a spare cannot take: make a layer then)."""
    layer = spare_for(viewer, IMAGE_SPARE)
    if layer is None or set(kwargs) - _ADOPTED or len(getattr(data, "shape", ())) != layer.ndim:
        return None
    clim = tuple(kwargs["contrast_limits"])
    layer.metadata = dict(kwargs["metadata"])  # no longer a spare
    layer.data = data  # hidden: nothing is drawn or uploaded yet
    layer.scale = kwargs["scale"]
    layer.translate = kwargs["translate"]
    layer.contrast_limits_range = clim
    layer.contrast_limits = clim
    layer.colormap = kwargs.get("colormap", "gray")
    layer.blending = kwargs.get("blending", "translucent")
    layer.name = kwargs["name"]
    layer.visible = kwargs.get("visible", True)
    if layer.visible:
        viewer.layers.selection.active = layer  # as a new layer would be
    _first_shown(viewer, layer)
    return layer


def follow_first_layer(viewer: napari.viewer.Viewer) -> None:
    """From now on, do for the first layer that is not a spare what napari does for the
    first layer of a viewer (fit the view, go to the middle slices): with spares in the
    list, no layer is napari's first. Spares move onto the first image's first voxel
    (their extent would widen the sliders' ranges, their spacing change the steps)."""
    if viewer in _FOLLOWED:
        return

    def _on_inserted(event: Any) -> None:
        if not is_spare(event.value):
            _first_shown(viewer, event.value)

    viewer.layers.events.inserted.connect(_on_inserted)
    _FOLLOWED.add(viewer)


def _first_shown(viewer: napari.viewer.Viewer, layer: Any) -> None:
    """``layer`` was just added or adopted: fit the view and place the spares if it is
    the first (the first image)."""
    from napari.layers import Image

    others = [lay for lay in viewer.layers if lay is not layer and not is_spare(lay)]
    if isinstance(layer, Image) and not any(isinstance(lay, Image) for lay in others):
        _place_spares(viewer, layer.scale, layer.translate)
    if not others:
        viewer.reset_view()
        viewer.dims.current_step = tuple(int((n - 1) / 2) for n in viewer.dims.nsteps)


def _place_spares(viewer: napari.viewer.Viewer, scale: Any, translate: Any) -> None:
    """Put every spare on the voxel at ``translate`` with spacing ``scale``: inside the
    images, on their spacing (no slider's range or step changes)."""
    for spare in [lay for lay in viewer.layers if is_spare(lay)]:
        if not np.allclose(spare.scale, scale):
            spare.scale = scale
        if not np.allclose(spare.translate, translate):
            spare.translate = translate


# -- overlays are views of the case --------------------------------------------------------
_WHERE = {
    "levels": "level markers are placed and moved in the Planning panel's Levels tab",
    "landmarks": "landmarks are placed and removed in the Planning panel's Levels tab",
    "targets": "targets are placed, moved and deleted in the Planning panel's Targets tab",
    "target names": "targets are named in the Planning panel's Targets tab",
    "trajectories": "needle paths are planned in the Planning panel's Targets tab",
    "paths beyond the slice": "needle paths are planned in the Planning panel's Targets tab",
    "scar": "the scar is painted or grown from the Planning panel's Scar tab",
}
"""Where the case item an overlay shows is edited: said when napari's editing is refused."""

_EDITING_SHORTCUTS = {
    "Points": ("napari:delete_selected_points",),
    "Shapes": ("napari:delete_selected_shapes", "napari:paste_shape"),
}
"""napari's actions (their shortcuts, as the physician set them) that would delete or add
items on a points or shapes overlay; Ctrl+V (paste) is bound to points layers directly."""

_SHOWN: weakref.WeakKeyDictionary[Any, tuple[Case, Mapping[str, str], Mapping[str, str]]] = (
    weakref.WeakKeyDictionary()
)
"""The case each viewer's overlays show, with its statuses and verdicts (`refresh_layers`)."""

_GUARDED: weakref.WeakSet[Any] = weakref.WeakSet()
"""Viewers whose removed overlays are drawn again (`keep_showing_the_case`)."""

_REDRAWING: weakref.WeakSet[Any] = weakref.WeakSet()
"""Viewers with a redraw from the case scheduled (`_redraw_soon`)."""

_SAID: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
"""What the status line will say once a scheduled redraw is done."""


def shows_the_case(layer: Any) -> str:
    """What the status line says when napari's editing of overlay ``layer`` is refused or
    undone: it shows the case, and where the case is edited."""
    role = layer.metadata.get("blockplan", {}).get("role", "")
    return f"blockplan: {_name(role)} shows the case — {_WHERE.get(role, 'edit it in Planning')}"


def keep_showing_the_case(viewer: napari.viewer.Viewer) -> None:
    """From now on, draw an overlay again from the case when napari's layer list removes
    it (its delete button, the Delete key there, Ctrl+Delete on the canvas, Convert to
    Image on the scar layer): the case keeps its items, so the canvas keeps showing them.
    The scar layer too (it is painted, not removed, to edit the scar). And a copy napari
    makes of a layer of blockplan's (Duplicate Layer, Convert to Labels or Image) is the
    physician's own layer from the moment it is added (`_disown`); so is a copy of a
    series' image or of a proposal, and a series or proposal napari's Convert took out is
    put back. A layer of the physician's named ``"blockplan: …"`` (added or renamed) is
    renamed `OWN_NAME` (`_rename_soon`)."""
    viewer = _unproxied(viewer)
    if viewer in _GUARDED:
        return

    def _on_removed(event: Any) -> None:
        meta = event.value.metadata.get("blockplan", {})
        if meta.get("role") in ROLES and not meta.get("retired"):
            _redraw_soon(viewer, event.value)
        _just_removed(event.value)

    def _on_inserted(event: Any) -> None:
        layer = event.value
        if _is_copy(viewer, layer):
            converted = _converted_from(layer)
            _disown(viewer, layer)
            if converted is not None:
                _put_back_soon(viewer, converted, viewer.layers.index(layer))
        elif _takes_a_case_name(layer):
            _rename_soon(viewer, layer)

    def _on_renamed(event: Any) -> None:
        layer = viewer.layers[event.index]
        if _takes_a_case_name(layer):
            _rename_soon(viewer, layer)

    viewer.layers.events.removed.connect(_on_removed)
    # first: no other listener (the workspace, the Planning panel) sees the copy's claim
    viewer.layers.events.inserted.connect(_on_inserted, position="first")
    viewer.layers.events.renamed.connect(_on_renamed)
    for layer in [lay for lay in viewer.layers if _takes_a_case_name(lay)]:
        _rename_soon(viewer, layer)
    _GUARDED.add(viewer)


# -- copies: napari's Duplicate Layer and Convert make the physician's own layers ----------
_MADE: weakref.WeakSet[Any] = weakref.WeakSet()
"""The overlays blockplan drew (`_add_overlay`, `adopt_as_scar_layer`)."""

_COPIES: weakref.WeakSet[Any] = weakref.WeakSet()
"""Copies `_disown` made the physician's (left where napari put them, `keep_overlays_on_top`)."""

_PUT_BACK: weakref.WeakSet[Any] = weakref.WeakSet()
"""Images and proposals put back where they were after napari's Convert (`_put_back_soon`)."""

COPY_NAME = "copy of {} (not part of the case)"
"""The name a copy of ``"blockplan: <role>"`` gets (`_disown`)."""


def _add_overlay(viewer: napari.viewer.Viewer, layer: Any) -> Any:
    """Add overlay ``layer``, made by blockplan, keeping the physician's active layer."""
    _made(layer)
    with keeping_active_layer(viewer):
        viewer.add_layer(layer)
    return layer


def _made(layer: Any) -> None:
    """Note ``layer`` as an overlay blockplan drew, and keep its name (`_keep_name`) and
    its place in the world (`_keep_place`)."""
    layer = _unproxied(layer)
    if layer not in _MADE:
        _MADE.add(layer)
        _PLACES[layer] = _place(layer)
        layer.events.name.connect(_keep_name)
        for transform in _TRANSFORMS:
            getattr(layer.events, transform).connect(_keep_place)


def _claim(layer: Any) -> tuple[str, str] | None:
    """What ``layer`` is to blockplan: ``("role", role)`` for a layer it draws (an overlay,
    a proposal), ``("spare", role)`` for a spare, None for the physician's layers and the
    images (a series may be shown in several)."""
    role = layer.metadata.get("blockplan", {}).get("role")
    if role is not None and role != "image":
        return ("role", str(role))
    spare = layer.metadata.get(SPARE_KEY)
    return None if spare is None else ("spare", str(spare))


def is_the_cases(layer: Any) -> bool:
    """Whether ``layer`` is one of the case's layers — an overlay, a series' image, a
    proposal, a spare — rather than the physician's own (theirs: napari's new layers,
    a copy napari made, `_disown`)."""
    return isinstance(layer.metadata.get("blockplan"), dict) or is_spare(layer)


def not_stepped_here(step: str) -> str:
    """What the status line says when Ctrl+Z (``step`` "undo") or Ctrl+Shift+Z ("redo")
    on the canvas leaves the case because the selected layer is not the case's (napari
    gives that kind of layer no undo of its own). The layer's name is not repeated."""
    done, button, key = (
        ("undone", "Undo", "Ctrl+Z") if step == "undo" else ("redone", "Redo", "Ctrl+Shift+Z")
    )
    return (
        f"blockplan: the case was not {done}: the selected layer is not part of the case "
        f"(napari has no {step} for it). To {step} the case's last edit, select a "
        f"'blockplan: ' layer, or use {button} in a blockplan panel ({key} with the focus "
        "there)"
    )


_GONE: list[weakref.ref[Any]] = []
"""Layers removed in this turn of the event loop: napari's Convert removes a layer and
adds its copy, which holds the same ``metadata["blockplan"]`` dict."""


def _just_removed(layer: Any) -> None:
    if not isinstance(layer.metadata.get("blockplan"), dict):
        return
    if not _GONE:
        from qtpy.QtCore import QTimer

        QTimer.singleShot(0, _GONE.clear)
    _GONE.append(weakref.ref(_unproxied(layer)))


def _converted_from(layer: Any) -> Any:
    """The layer napari's Convert just removed to add ``layer`` in its place, or None."""
    meta = layer.metadata.get("blockplan")
    gone = (ref() for ref in _GONE)
    return next(
        (
            g
            for g in gone
            if g is not None and g is not layer and g.metadata.get("blockplan") is meta
        ),
        None,
    )


def _copied_from(viewer: napari.viewer.Viewer, layer: Any) -> Any:
    """The layer ``layer`` is napari's copy of (Duplicate Layer, Convert), or None:
    napari copies a layer's metadata one level deep, so both hold one
    ``metadata["blockplan"]`` dict."""
    meta = layer.metadata.get("blockplan")
    if not isinstance(meta, dict):
        return None
    shared = (
        lay for lay in viewer.layers if lay is not layer and lay.metadata.get("blockplan") is meta
    )
    return next(shared, None) or _converted_from(layer)


def _is_copy(viewer: napari.viewer.Viewer, layer: Any) -> bool:
    """Whether ``layer``, just added, is napari's copy of a layer of blockplan's (one
    holding its ``metadata["blockplan"]`` dict: a series' image, an overlay, a proposal),
    or claims what another layer of blockplan's is: an overlay's role that blockplan did
    not draw, or another layer's role or spare.

    napari's Duplicate Layer and Convert copy a layer's metadata — even the same
    ``metadata["blockplan"]`` dict — so its copy claimed the overlay's role: `layer_for`
    could find the copy instead of the overlay, and a scar converted to an image became
    the scar layer (no longer paintable); a copy of the CT was a second CT of the case
    (its volumes, the report's), a scar proposal converted to an image the proposal."""
    if _copied_from(viewer, layer) is not None:
        return True
    claim = _claim(layer)
    if claim is None:
        return False
    if claim[0] == "role" and claim[1] in ROLES:
        return _unproxied(layer) not in _MADE
    return any(_claim(other) == claim for other in viewer.layers if other is not layer)


def _disown(viewer: napari.viewer.Viewer, layer: Any) -> None:
    """Make copy ``layer`` the physician's own layer: it keeps its look and its data,
    loses blockplan's tags (no role, not a spare, no series) and is named `COPY_NAME`;
    blockplan never draws on it or reads it, so an edit there leaves the case as it is."""
    original, claim = _copied_from(viewer, layer), _claim(layer)
    of = original.name if original is not None else _name(claim[1] if claim else "layer")
    layer.metadata = {k: v for k, v in layer.metadata.items() if not k.startswith("blockplan")}
    layer.name = COPY_NAME.format(of)
    _COPIES.add(_unproxied(layer))
    viewer.status = f"blockplan: {layer.name!r} is yours: editing it does not change the case"


def _put_back_soon(viewer: napari.viewer.Viewer, layer: Any, index: int) -> None:
    """Put a series' image or a proposal that napari's Convert took out of the list
    back at ``index`` once napari is done (an overlay is drawn again from the case)."""
    claim = _claim(layer)
    if claim is not None and claim[1] in ROLES:
        return
    from qtpy.QtCore import QTimer

    vref = weakref.ref(_unproxied(viewer))

    def _back() -> None:
        found = vref()
        if found is None or layer in found.layers or not is_open(found):
            return
        _PUT_BACK.add(layer)  # where it was: `keep_overlays_on_top` leaves it there
        with keeping_active_layer(found):
            found.layers.insert(min(index, len(found.layers)), layer)

    QTimer.singleShot(0, _back)


OWN_NAME = "{} (yours, not part of the case)"
"""The name a layer of the physician's named ``"blockplan: <x>"`` gets: ``<x>`` with it."""


def _takes_a_case_name(layer: Any) -> bool:
    """Whether ``layer`` is the physician's own but named as the case's layers are."""
    return str(layer.name).startswith(PREFIX) and not is_the_cases(layer)


def _rename_soon(viewer: napari.viewer.Viewer, layer: Any) -> None:
    """Rename the physician's ``layer`` named ``"blockplan: <x>"`` (`_takes_a_case_name`)
    to `OWN_NAME` once napari is done: the prefix tells the case's layers, edited in the
    Planning panel only, from the physician's own; a layer of theirs holding it passed for
    one, and the case's overlay drawn after it was named ``"blockplan: <role> [1]"``."""
    from qtpy.QtCore import QTimer

    vref, lref = weakref.ref(_unproxied(viewer)), weakref.ref(_unproxied(layer))

    def _rename() -> None:
        found, renamed = vref(), lref()
        if found is None or renamed is None or not _takes_a_case_name(renamed):
            return
        rest = re.sub(r" \[\d+\]$", "", str(renamed.name)[len(PREFIX) :]).strip() or "layer"
        renamed.name = rest if rest.endswith(OWN_NAME.format("")) else OWN_NAME.format(rest)
        found.status = (
            "blockplan: a layer of yours was renamed: names beginning 'blockplan: ' are kept "
            "for the case's layers (edited in the Planning panel), so that yours is never "
            "taken for one"
        )

    QTimer.singleShot(0, _rename)


def _keep_name(event: Any) -> None:
    """An overlay renamed (a double-click in the layer list) gets its name back once
    napari is done: ``"blockplan: <role>"`` is what tells the physician that a layer shows
    the case, is edited in the Planning panel only and is drawn again from the case —
    renamed, it passed for one of their own layers."""
    layer, claim = event.source, _claim(event.source)
    if claim is not None and layer.name != _name(claim[1]):
        from qtpy.QtCore import QTimer

        ref = weakref.ref(layer)
        QTimer.singleShot(0, lambda: _name_back(ref))


_TRANSFORMS = ("scale", "translate", "rotate", "shear", "affine")
"""A layer's transforms, from its data to the world (napari's order of setting them)."""

_PLACES: weakref.WeakKeyDictionary[Any, dict[str, np.ndarray]] = weakref.WeakKeyDictionary()
"""Each overlay's transforms as blockplan drew it (`_made`)."""


def _place(layer: Any) -> dict[str, np.ndarray]:
    return {
        "scale": np.array(layer.scale, dtype=float),
        "translate": np.array(layer.translate, dtype=float),
        "rotate": np.array(layer.rotate, dtype=float),
        "shear": np.array(layer.shear, dtype=float),
        "affine": np.array(layer.affine.affine_matrix, dtype=float),
    }


def _keep_place(event: Any) -> None:
    """An overlay's transforms changed (the layer list's "Apply scale/transforms from
    Clipboard", the console) are put back once napari is done: an overlay draws the case's
    items where they are in the patient, and a CT's scale applied to the targets layer
    drew every marker millimetres away from its target."""
    from qtpy.QtCore import QTimer

    ref = weakref.ref(event.source)
    QTimer.singleShot(0, lambda: _place_back(ref))


def _place_back(ref: weakref.ref[Any]) -> None:
    layer = ref()
    if layer is None or (placed := _PLACES.get(layer)) is None:
        return
    now = _place(layer)
    if all(np.array_equal(now[key], placed[key]) for key in _TRANSFORMS):
        return
    for key in _TRANSFORMS:
        setattr(layer, key, placed[key])
    viewer = next((v for v in list(_GUARDED) if layer in v.layers), None)
    if viewer is not None:
        viewer.status = (
            f"blockplan: {layer.name!r} keeps its place: it draws the case where it is in "
            "the patient (a copy made with Duplicate Layer may be moved)"
        )


def _name_back(ref: weakref.ref[Any]) -> None:
    layer = ref()
    if layer is None or (claim := _claim(layer)) is None:
        return
    viewer = next((v for v in list(_GUARDED) if layer in v.layers), None)
    if viewer is None:
        return
    name = _name(claim[1])
    if layer.name == name or any(other.name == name for other in viewer.layers):
        return  # already back, or another layer took the name: no renaming back and forth
    layer.name = name
    viewer.status = (
        f"blockplan: {name!r} keeps its name: it shows the case, and the name tells it from "
        "your own layers (Duplicate Layer makes a copy you may rename)"
    )


def _read_only(viewer: napari.viewer.Viewer, layer: Any) -> None:
    """Make points or shapes overlay ``layer`` a view napari's editing does not change.

    ``editable = False`` only stops napari's editing modes (add, select, move): its
    delete and paste keys act on any points or shapes layer (Ctrl+A then Delete emptied
    the targets layer while the case kept its targets). Those keys are bound on the layer
    to say where the item is edited instead, and a change of its data that napari makes
    anyway (its layer controls, the console) is undone by drawing it from the case again.
    """
    from napari.settings import get_settings

    layer.editable = False
    # weakly: the layer's events keep these closures (not a plugin's proxy: it may be freed)
    vref, lref = weakref.ref(_unproxied(viewer)), weakref.ref(_unproxied(layer))

    def _refuse(refused: Any) -> None:  # nothing changes: the status line says why
        found = vref()
        if found is not None:
            found.status = shows_the_case(refused)

    shortcuts = get_settings().shortcuts.shortcuts
    actions = _EDITING_SHORTCUTS.get(type(layer).__name__, ())
    keys = {str(key) for action in actions for key in shortcuts.get(action, ())}
    for key in keys | {"Ctrl+V"}:
        layer.bind_key(key, _refuse, overwrite=True)

    def _on_data(event: Any) -> None:  # napari's own edits: blockplan's are blocked
        found, changed = vref(), lref()
        done = str(getattr(event, "action", "")) not in ("removing", "adding", "changing")
        if done and found is not None and changed is not None:
            _redraw_soon(found, changed)

    def _on_editable(_event: Any) -> None:
        changed = lref()
        if changed is not None and changed.editable:  # napari resets it (shapes: new data)
            changed.editable = False

    layer.events.data.connect(_on_data)
    layer.events.editable.connect(_on_editable)


def _redraw_soon(viewer: napari.viewer.Viewer, layer: Any) -> None:
    """Draw the overlays of ``viewer`` from its case again once napari has finished
    changing or removing ``layer`` (at the next turn of the event loop), and say so."""
    viewer = _unproxied(viewer)
    meta = layer.metadata.get("blockplan", {})
    meta["drawn"] = None
    _SAID[viewer] = shows_the_case(layer) + " (drawn again from the case)"
    if viewer in _REDRAWING:
        return
    _REDRAWING.add(viewer)
    from qtpy.QtCore import QTimer

    vref = weakref.ref(viewer)
    QTimer.singleShot(0, lambda: _redraw(vref))


def _redraw(vref: weakref.ref[Any]) -> None:
    viewer = vref()
    if viewer is None:
        return
    _REDRAWING.discard(viewer)
    shown = _SHOWN.get(viewer)
    if shown is None or not is_open(viewer):  # closed: its layers were all removed
        return
    case, statuses, verdicts = shown
    refresh_layers(viewer, case, statuses=statuses, verdicts=verdicts)
    viewer.status = _SAID.pop(viewer, viewer.status)  # after napari's own (active layer)


def is_open(viewer: napari.viewer.Viewer) -> bool:
    """Whether ``viewer`` is still open: napari's `Viewer.close` removes every layer,
    then forgets the viewer."""
    from napari import Viewer

    return _unproxied(viewer) in Viewer._instances


def _unproxied(obj: Any) -> Any:
    """The napari object a plugin's proxy (napari's ``PublicOnlyProxy``) wraps, or ``obj``:
    kept by weak reference, a proxy made for one call would be gone at once."""
    return getattr(obj, "__wrapped__", obj)


def refresh_layers(
    viewer: napari.viewer.Viewer,
    case: Case,
    *,
    statuses: Mapping[str, str] | None = None,
    verdicts: Mapping[str, str] | None = None,
) -> None:
    """Redraw every blockplan layer from ``case``.

    ``statuses`` maps target id → ledger status (colours); ``verdicts`` maps target id →
    the safety verdict of its trajectory (`blockplan.planning.SafetyVerdict`): green safe,
    red unsafe, orange not assessed (also for a path without a verdict).
    """
    statuses = statuses or {}
    verdicts = verdicts or {}
    _SHOWN[_unproxied(viewer)] = (case, statuses, verdicts)
    keep_showing_the_case(viewer)
    lv = case.levels
    _points(
        viewer,
        "levels",
        lps_to_world([m.position.lps for m in lv]) if lv else np.empty((0, 3)),
        face_color="#ffd700",
        symbol="diamond",
        features={"level": [m.level for m in lv]},
        text={"string": "{level}", "color": "#ffd700", "size": 10, "anchor": "upper_left"}
        | _BESIDE,
    )
    lm = case.landmarks
    _points(
        viewer,
        "landmarks",
        lps_to_world([m.position.lps for m in lm]) if lm else np.empty((0, 3)),
        face_color="#9467bd",
        symbol="ring",
        features={"kind": [m.kind for m in lm], "level": [m.level or "" for m in lm]},
    )
    tg = case.targets
    names = target_names(tg)
    colours = [STATUS_COLOURS[statuses.get(t.id, UNTESTED)] for t in tg]
    positions = np.array([t.position.lps for t in tg], dtype=float).reshape(-1, 3)
    targets = _points(
        viewer,
        "targets",
        lps_to_world(_targets_shown(viewer, positions)) if tg else np.empty((0, 3)),
        face_color=colours if colours else STATUS_COLOURS[UNTESTED],
        symbol="disc",
        border_color="white",
        border_width=0.2,
        features={
            "id": [t.id for t in tg],
            "label": [names[t.id] for t in tg],
        },
    )
    if targets is not None:
        targets.metadata["blockplan"]["positions"] = positions
        _follow_slices(viewer)
    paths = [
        np.array([traj.entry.lps, case.target(traj.target_id).position.lps], dtype=float)
        for traj in case.trajectories
    ]
    _target_names(viewer, positions, [names[t.id] for t in tg], paths, [target_tag(t) for t in tg])
    _trajectories(viewer, case, verdicts)
    _scar(viewer, case)


_MARKER_MM = 5.0
"""Size of the level and target markers (mm; napari's default point size)."""

_BESIDE = {"translation": (0.0, 0.7 * _MARKER_MM, 0.7 * _MARKER_MM)}
"""A marker's name starts beside it, not over it: moved by more than the marker's radius
along y and x (world z, y, x), so it clears the marker in the axial (x across), coronal
(x across) and sagittal (y across) views."""


_NAME_FONT_SIZE = 9
"""The font size (points) of the targets' names on the canvas."""

RELAYOUT_MS = 60
"""How long (ms) the camera must rest (no zoom, pan or canvas resize) before the names are
placed again: a pan sends an event per mouse move, and the names follow their markers in
the meantime (they are anchored in the world)."""


def name_sizes_px(names: tuple[str, ...], font_size: float) -> np.ndarray:
    """Width and height (``(n, 2)`` canvas pixels) of each name as napari draws it at
    ``font_size`` points, measured with the font that draws it (`label_places` needs them).

    napari draws layer text with the application font's family, its glyphs measured at
    256 points by Qt (`QFontMetricsF`) and scaled to ``font_size / 72 × dpi`` pixels, the
    dpi being vispy's (``vispy.util.config["dpi"]``, else the screen's as vispy reads it);
    the width is the text's advance, the height a line (ascent and descent).
    """
    from qtpy.QtGui import QGuiApplication

    return _measured(names, float(font_size), QGuiApplication.font().family()).copy()


@functools.lru_cache(maxsize=64)
def _measured(names: tuple[str, ...], font_size: float, family: str) -> np.ndarray:
    from qtpy.QtGui import QFont, QFontMetricsF

    metrics = QFontMetricsF(QFont(family, 256))  # as napari builds its glyph atlas
    scale = font_size / 72.0 * _vispy_dpi() / 256.0
    line = (metrics.ascent() + metrics.descent()) * scale
    return np.array([[metrics.horizontalAdvance(n) * scale, line] for n in names]).reshape(-1, 2)


@functools.lru_cache(maxsize=1)
def _vispy_dpi() -> float:
    """The dpi vispy's canvas scales text by (napari passes none: vispy's own choice)."""
    from vispy.util import config
    from vispy.util.dpi import get_dpi

    return float(config["dpi"] or get_dpi(raise_error=False))


def _target_names(
    viewer: napari.viewer.Viewer,
    positions: np.ndarray,
    names: list[str],
    paths: list[np.ndarray],
    tags: list[str],
) -> None:
    """Draw the targets' names (``names``, one per LPS row of ``positions``) on the names
    layer, each beside its marker where no other name or marker is, and off the needle
    ``paths`` (LPS ``(2, 3)`` entry, target) where it can be
    (`blockplan.planning.label_places`: a target's number alone, ``tags``, where its whole
    name has no clear place near it); `_follow_slices` moves them with the slice and the
    zoom."""
    anchors, shown, texts = _name_anchors(viewer, positions, names, paths, _NAME_FONT_SIZE, tags)
    layer = _points(
        viewer,
        "target names",
        anchors if names else np.empty((0, 3)),
        size=0.1,
        face_color="transparent",
        border_width=0.0,
        features={"label": texts},
        text={
            "string": "{label}",
            "color": "white",
            "size": _NAME_FONT_SIZE,
            "anchor": "lower_left",
        },
    )
    if layer is not None:
        layer.metadata["blockplan"].update(
            positions=positions, names=list(names), paths=paths, tags=list(tags)
        )
        if names and not np.array_equal(layer.shown, shown):
            layer.shown = shown
        _follow_slices(viewer)


def _name_anchors(
    viewer: napari.viewer.Viewer,
    positions: np.ndarray,
    names: list[str],
    paths: list[np.ndarray],
    font_size: float,
    tags: list[str],
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """World points where the targets' names are anchored in the view shown (napari's
    ``lower_left`` text anchor: the name's left end, its top edge on the canvas), which
    names are shown, and what each shows: its name, or its number alone (``tags``) where
    the whole name has no clear place near its marker (`label_places`).

    In 2-D, the markers the slice shows (`_targets_shown`) get their names placed apart on
    the screen, inside the canvas, off the paths drawn where they can be (`label_places`,
    in canvas pixels at the camera's zoom, centre and orientation, each name's size
    measured in the font drawing it at ``font_size``: `name_sizes_px`), turned back into
    millimetres in the slice; the name of a marker outside the canvas is not shown. In 3-D
    every name stands beside its marker.
    """
    world = np.asarray(lps_to_world(_targets_shown(viewer, positions)), dtype=float).reshape(-1, 3)
    shown = np.ones(len(world), dtype=bool)
    dims = viewer.dims
    texts = list(names)
    if dims.ndisplay != 2 or dims.ndim != 3 or not len(world):
        beside: np.ndarray = world + np.asarray(_BESIDE["translation"], dtype=float)
        return beside, shown, texts
    depth = dims.not_displayed[0]
    rows, cols = dims.displayed
    down, right = viewer.scene.camera.orientation2d
    sign_y, sign_x = (1.0 if down == "down" else -1.0), (1.0 if right == "right" else -1.0)
    zoom = float(viewer.scene.camera.zoom)

    def to_screen(w: np.ndarray) -> np.ndarray:  # world (n, 3) → canvas pixels (n, 2)
        return np.column_stack([w[:, cols] * sign_x, w[:, rows] * sign_y]) * zoom

    screen = to_screen(world)
    centre = np.zeros((1, 3))
    centre[0, [rows, cols]] = np.asarray(viewer.scene.camera.center, dtype=float)[-2:]
    height, width = viewer.canvas.size
    view = np.concatenate([to_screen(centre)[0] - (width / 2, height / 2)] * 2)
    view[2:] += (width, height)
    plane = _slice_plane(viewer)
    lines = []
    if plane is not None:
        point_lps, normal_lps, near_mm = plane
        for path in paths:  # the paths as drawn here: projected
            on_plane = path_on_plane(path[0], path[1], point_lps, normal_lps, near_mm=near_mm)
            if on_plane is not None:
                ends = np.array([on_plane.entry_lps, on_plane.target_lps])
                lines.append(to_screen(np.asarray(lps_to_world(ends), dtype=float)))
    sizes = name_sizes_px(tuple(names), font_size)
    short_sizes = name_sizes_px(tuple(tags), font_size)
    on = np.abs(world[:, depth] - float(dims.point[depth])) <= _NAPARI_SLAB_MM
    offsets = np.tile([_MARKER_MM / 2 * zoom, 0.0], (len(world), 1))
    if on.any():
        places = label_places(
            screen[on],
            sizes[on],
            short_sizes[on],
            marker_radius_px=_MARKER_MM / 2 * zoom,
            lines_px=lines or None,
            view_px=view,
        )
        placed = places.offsets.copy()
        off_view = np.isnan(placed).any(axis=1)
        placed[off_view] = offsets[on][off_view]
        offsets[on] = placed
        shown[np.flatnonzero(on)[off_view]] = False
        for n in np.flatnonzero(on)[places.short]:
            texts[n], sizes[n] = tags[n], short_sizes[n]
    offsets[:, 1] -= sizes[:, 1] / 2  # the text hangs from its anchor: the name's top edge
    anchors = world.copy()
    anchors[:, cols] += offsets[:, 0] * sign_x / zoom
    anchors[:, rows] += offsets[:, 1] * sign_y / zoom
    return anchors, shown, texts


def _trajectories(viewer: napari.viewer.Viewer, case: Case, verdicts: Mapping[str, str]) -> None:
    paths, colours = [], []
    for traj in case.trajectories:
        target = case.target(traj.target_id)
        paths.append(np.array([traj.entry.lps, target.position.lps], dtype=float))
        colours.append(VERDICT_COLOURS[str(verdicts.get(traj.target_id, "not assessed"))])
    layer = layer_for(viewer, "trajectories")
    lines = _lines_shown(viewer, paths)
    if layer is None:
        if not lines:
            return
        from napari.layers import Shapes

        layer = _add_overlay(
            viewer,
            Shapes(
                lines,
                ndim=3,
                shape_type="line",
                edge_width=1.0,
                edge_color=colours,
                name=_name("trajectories"),
                metadata={"blockplan": {"role": "trajectories"}},
            ),
        )
        _read_only(viewer, layer)
        layer.metadata["blockplan"].update(
            paths=paths, colours=colours, drawn=_lines_signature(lines, colours)
        )
        _beyond(viewer, paths, colours)
        _follow_slices(viewer)
        return
    layer.metadata["blockplan"].update(paths=paths, colours=colours)
    _beyond(viewer, paths, colours)
    signature = _lines_signature(lines, colours)
    if layer.metadata["blockplan"].get("drawn") == signature:
        return
    with layer.events.blocker_all():
        layer.data = []
        if lines:
            layer.add_lines(lines, edge_color=colours, edge_width=1.0)
        layer.editable = False  # napari makes a shapes layer editable when its data is set
    layer.metadata["blockplan"]["drawn"] = signature
    layer.refresh()


def _lines_shown(viewer: napari.viewer.Viewer, paths: list[np.ndarray]) -> list[np.ndarray]:
    """World lines of the paths (LPS ``(2, 3)`` entry, target) as the view shows them.

    napari draws a 3-D line only on a slice that holds all of it. In a 2-D view, each path
    the slice shows (`blockplan.planning.projection.path_parts_on_plane`, within half a
    slice step or `IN_PLANE_MM`, whichever is more) is given as the stretch of it within
    that slab, projected onto the slice, which napari then draws on it, solid (the
    stretches beyond the slab are drawn by `_beyond`); every other path keeps its true
    line, which napari does not draw there. In 3-D every path is its true line.
    """
    plane = _slice_plane(viewer)
    if plane is None or not paths:
        return [lps_to_world(p) for p in paths]
    point_lps, normal_lps, near_mm = plane
    lines = []
    for path in paths:
        cut = path_parts_on_plane(path[0], path[1], point_lps, normal_lps, near_mm=near_mm)
        inside = None if cut is None else next(p for p in cut.parts if p.side == 0)
        drawn = path if inside is None else np.array([inside.start_lps, inside.end_lps])
        lines.append(lps_to_world(drawn))
    return lines


BEYOND_OPACITY = 0.6
"""Opacity of the stretches of a path beyond the slice (the stretch within it: 0.7, napari's
shapes default)."""
BEYOND_WIDTH_MM = 0.5
"""Width of the stretches beyond the slice (the stretch within it: 1 mm)."""
DASH_MM = (2.5, 2.0)
"""Dash and gap (mm) of the stretch on the slice's minus side (caudal of an axial slice,
right of a sagittal one, anterior of a coronal one)."""
CROSSING_RADIUS_MM = 1.5
"""Radius of the ring where a path passes through the slice."""


def _beyond(viewer: napari.viewer.Viewer, paths: list[np.ndarray], colours: list[str]) -> None:
    """Draw what of each path lies beyond the slice shown (`_beyond_shown`) on the layer
    ``"paths beyond the slice"``, made with the trajectories layer, redrawn when it
    changes."""
    shapes, types, edge = _beyond_shown(viewer, paths, colours)
    layer = layer_for(viewer, "paths beyond the slice")
    if layer is None:
        from napari.layers import Shapes

        layer = _add_overlay(
            viewer,
            Shapes(
                ndim=3,
                opacity=BEYOND_OPACITY,
                name=_name("paths beyond the slice"),
                metadata={"blockplan": {"role": "paths beyond the slice"}},
            ),
        )
        _read_only(viewer, layer)
    signature = _lines_signature(shapes, [*types, *edge])
    if layer.metadata["blockplan"].get("drawn") == signature:
        return
    with layer.events.blocker_all():
        layer.data = []
        if shapes:
            layer.add(
                shapes,
                shape_type=types,
                edge_color=edge,
                face_color="transparent",
                edge_width=BEYOND_WIDTH_MM,
            )
        layer.editable = False  # napari makes a shapes layer editable when its data is set
    layer.metadata["blockplan"]["drawn"] = signature
    layer.refresh()


def _beyond_shown(
    viewer: napari.viewer.Viewer, paths: list[np.ndarray], colours: list[str]
) -> tuple[list[np.ndarray], list[str], list[str]]:
    """World shapes, their types and colours showing what of each path the slice shows
    lies beyond its slab (`blockplan.planning.path_parts_on_plane`), projected: on the
    plus side of the slice (cranial, left, posterior: the side its normal points to in LPS)
    a thin line, on the minus side (caudal, right, anterior) a thin dashed line, and a ring
    where the path passes through the slice (none at its target, whose marker is there).
    Nothing in 3-D."""
    plane = _slice_plane(viewer)
    if plane is None:
        return [], [], []
    point_lps, normal_lps, near_mm = plane
    rows, cols = viewer.dims.displayed
    shapes, types, edge = [], [], []
    for path, colour in zip(paths, colours, strict=True):
        cut = path_parts_on_plane(path[0], path[1], point_lps, normal_lps, near_mm=near_mm)
        if cut is None:
            continue
        for part in cut.parts:
            if part.side == 1:
                pieces = [np.array([part.start_lps, part.end_lps])]
            elif part.side == -1:
                pieces = _dashes(part.start_lps, part.end_lps)
            else:
                continue
            shapes += [lps_to_world(p) for p in pieces]
            types += ["line"] * len(pieces)
            edge += [colour] * len(pieces)
        crossing = cut.crossing_lps
        if crossing is not None and np.linalg.norm(crossing - path[1]) > _MARKER_MM / 2:
            ring = np.tile(lps_to_world(crossing), (4, 1))
            for corner, (dr, dc) in zip(ring, ((-1, -1), (-1, 1), (1, 1), (1, -1)), strict=True):
                corner[rows] += dr * CROSSING_RADIUS_MM
                corner[cols] += dc * CROSSING_RADIUS_MM
            shapes.append(ring)
            types.append("ellipse")
            edge.append(colour)
    return shapes, types, edge


def path_legend_shown(viewer: napari.viewer.Viewer) -> str:
    """What the needle paths' styles mean on the view shown (`blockplan.planning.path_legend`
    for the slice's plane and slab), for the legend under the view buttons."""
    plane = _slice_plane(viewer)
    if plane is None:
        return "needle paths: drawn whole in 3-D"
    _point, normal_lps, near_mm = plane
    return path_legend(normal_lps, near_mm)


def _dashes(start: np.ndarray, end: np.ndarray) -> list[np.ndarray]:
    """``(2, 3)`` dashes along ``start`` → ``end`` (LPS), `DASH_MM` long and apart,
    the first at ``start``."""
    length = float(np.linalg.norm(end - start))
    dash, gap = DASH_MM
    if length <= dash:
        return [np.array([start, end])]
    unit = (end - start) / length
    return [
        np.array([start + a * unit, start + min(a + dash, length) * unit])
        for a in np.arange(0.0, length, dash + gap)
    ]


def _slice_plane(viewer: napari.viewer.Viewer) -> tuple[np.ndarray, np.ndarray, float] | None:
    """The 2-D slice shown as a plane (a point and the normal, LPS) and how near to it a
    path or target must come to be shown on it (half a slice step or `IN_PLANE_MM`,
    whichever is more); None in 3-D."""
    dims = viewer.dims
    if dims.ndisplay != 2 or dims.ndim != 3:
        return None
    axis = dims.not_displayed[0]
    point_lps = world_to_lps(np.asarray(dims.point, dtype=float))
    normal_lps = world_to_lps(np.eye(3)[axis])
    return point_lps, normal_lps, max(IN_PLANE_MM, float(dims.range[axis].step) / 2.0)


_NAPARI_SLAB_MM = 0.5
"""napari shows a point on a 2-D slice when it lies within half a world unit (1 mm) of it."""


def _targets_shown(viewer: napari.viewer.Viewer, positions: np.ndarray) -> np.ndarray:
    """Target positions (LPS ``(n, 3)``) as the slice shown draws them.

    A slice that shows a target's path end (`path_on_plane` of the target alone: within
    half a slice step or `IN_PLANE_MM`) shows the target too, with its name, projected onto
    the slice: napari alone draws a point only within 0.5 mm of the slice, which left a path
    drawn 1–2 mm from its target with no marker or name at its end. A target napari shows
    anyway keeps its true position; in 3-D every target does.
    """
    plane = _slice_plane(viewer)
    if plane is None or not len(positions):
        return positions
    point_lps, normal_lps, near_mm = plane
    shown = positions.copy()
    for n, lps in enumerate(positions):
        on = path_on_plane(lps, lps, point_lps, normal_lps, near_mm=near_mm)
        if on is not None and abs(on.target_offset_mm) > _NAPARI_SLAB_MM:
            shown[n] = on.target_lps
    return shown


_FOLLOWING: weakref.WeakSet[Any] = weakref.WeakSet()
"""Viewers whose trajectories layer follows the slice shown (`_follow_slices`)."""


def _follow_slices(viewer: napari.viewer.Viewer) -> None:
    """From now on, redraw the paths and targets as each slice shows them when the slice,
    the plane or 2-D/3-D changes: only the trajectories layer's line data and the targets
    layer's positions, and only when they change (a step between two slices no path or
    target comes near changes nothing)."""
    if viewer in _FOLLOWING:
        return

    def _on_slice(*_: object) -> None:
        _targets_follow(viewer)
        _names_follow(viewer)
        _paths_follow(viewer)

    for event in (viewer.dims.events.point, viewer.dims.events.order, viewer.dims.events.ndisplay):
        event.connect(_on_slice)
    # names keep their pixel spacing and stay inside the canvas: placed again once the
    # camera rests (`RELAYOUT_MS`) after a zoom, a pan or a resize of the canvas
    from qtpy.QtCore import QTimer

    relayout = QTimer()
    relayout.setSingleShot(True)
    relayout.setInterval(RELAYOUT_MS)
    relayout.timeout.connect(lambda: _names_follow(viewer))
    camera = viewer.scene.camera
    for event in (camera.events.zoom, camera.events.center, camera.events.orientation):
        event.connect(lambda *_: relayout.start())
    viewer.canvas.events.size.connect(lambda *_: relayout.start())
    _FOLLOWING.add(viewer)


def _paths_follow(viewer: napari.viewer.Viewer) -> None:
    """The needle paths as the slice shows them (and the paths beyond it)."""
    layer = layer_for(viewer, "trajectories")
    if layer is None or "paths" not in layer.metadata["blockplan"]:
        return
    meta = layer.metadata["blockplan"]
    _beyond(viewer, meta["paths"], meta["colours"])
    lines = _lines_shown(viewer, meta["paths"])
    signature = _lines_signature(lines, meta["colours"])
    if meta.get("drawn") == signature or len(lines) != len(layer.data):
        return
    with layer.events.blocker_all():
        layer.data = lines  # as many lines as before: their colours stay
        layer.editable = False  # napari makes a shapes layer editable when data is set
    meta["drawn"] = signature
    layer.refresh()


def _names_follow(viewer: napari.viewer.Viewer) -> None:
    """The targets' names placed again for the slice and the camera (`_name_anchors`)."""
    layer = layer_for(viewer, "target names")
    if layer is None or "positions" not in layer.metadata["blockplan"]:
        return
    meta = layer.metadata["blockplan"]
    if not len(meta["positions"]):
        return
    data, shown, texts = _name_anchors(
        viewer,
        meta["positions"],
        meta["names"],
        meta["paths"],
        float(layer.text.size),
        meta.get("tags", meta["names"]),
    )
    if len(data) != len(layer.data):
        return
    relabelled = list(layer.features["label"]) != texts
    moved = relabelled or not np.array_equal(data, layer.data)
    if moved:
        with layer.events.blocker_all():
            layer.data = data  # as many names as before
            if relabelled:  # a whole name or its number alone
                layer.features = {"label": texts}
        meta["drawn"] = None  # the next refresh_layers redraws it
    if not np.array_equal(shown, layer.shown):
        layer.shown = shown  # a marker came onto or left the canvas
    if moved:
        layer.refresh()


def _targets_follow(viewer: napari.viewer.Viewer) -> None:
    """The target markers as the slice shows them."""
    layer = layer_for(viewer, "targets")
    if layer is None or "positions" not in layer.metadata["blockplan"]:
        return
    positions = layer.metadata["blockplan"]["positions"]
    data = lps_to_world(_targets_shown(viewer, positions)) if len(positions) else None
    if data is None or len(data) != len(layer.data) or np.array_equal(data, layer.data):
        return
    with layer.events.blocker_all():
        layer.data = data  # as many points as before: their colours and names stay
    layer.metadata["blockplan"]["drawn"] = None  # the next refresh_layers redraws it
    layer.refresh()


def _lines_signature(lines: list[np.ndarray], colours: list[str]) -> tuple[Any, ...]:
    return (tuple(line.tobytes() for line in lines), tuple(colours))


def scar_display_grid(region: ScarRegion) -> MaskGrid:
    """The world-aligned grid the scar of a region is shown (and painted) on.

    The region is stored on its source series' grid; napari shows it on the display grid
    of that series (`_convert.display_grid`): the same voxels for an axis-aligned series,
    a resampling for an oblique one.
    """
    affine, shape = display_grid(region.grid.affine_array(), region.grid.shape)
    return region.grid.model_copy(
        update={"shape": shape, "affine": tuple(tuple(float(v) for v in row) for row in affine)}
    )


def scar_layer_data(region: ScarRegion) -> tuple[np.ndarray, dict[str, Any]]:
    """Labels data (uint8 mask on the display grid) and its placement in the world."""
    from blockplan.planning import resample_mask

    shown = scar_display_grid(region)
    aff = shown.affine_array()
    data = resample_mask(region.mask(), region.grid, shown).astype(np.uint8)
    origin = aff[:3, 3]
    return data, {
        "scale": (aff[2, 2], aff[1, 1], aff[0, 0]),
        "translate": (origin[2], origin[1], origin[0]),
    }


def _scar(viewer: napari.viewer.Viewer, case: Case) -> None:
    layer = layer_for(viewer, "scar")
    if not case.scar_regions:
        if layer is not None and layer.metadata["blockplan"].get("drawn") is not None:
            with layer.events.blocker_all():
                layer.data = np.zeros_like(layer.data)
            layer.metadata["blockplan"]["drawn"] = None
            layer.refresh()
        return
    region = case.scar_regions[0]
    if layer is not None and layer.metadata["blockplan"].get("drawn") == _drawn(region):
        return  # decoding and uploading a mask costs ~8 ms (much more for a large one)
    data, placement = scar_layer_data(region)
    meta = _scar_meta(region, data)
    if layer is None or layer.data.shape != data.shape:
        if layer is not None:
            layer.metadata["blockplan"]["retired"] = True  # not a removal to undo
            viewer.layers.remove(layer)
        from napari.layers import Labels

        layer = _add_overlay(
            viewer,
            Labels(
                data, name=_name("scar"), opacity=0.45, metadata={"blockplan": meta}, **placement
            ),
        )
        _undone_in_the_panel(layer)
        return
    with layer.events.blocker_all():
        layer.data = data
        layer.metadata["blockplan"] = meta
    layer.refresh()


def _drawn(region: ScarRegion) -> tuple[Any, ...]:
    return (region.id, hash(region.rle), region.grid)


def _scar_meta(region: ScarRegion, data: np.ndarray) -> dict[str, Any]:
    """The scar layer's ``metadata["blockplan"]`` when it shows ``data`` of ``region``."""
    return {
        "role": "scar",
        "region_id": region.id,
        "grid": region.grid,
        "shown_grid": scar_display_grid(region),
        "shown": data.copy(),
        "drawn": _drawn(region),
    }


def adopt_as_scar_layer(layer: Any, region: ScarRegion) -> None:
    """Make ``layer``, which shows exactly ``region`` already (its data are
    `scar_layer_data` of it: an accepted scar proposal), the scar layer: the case's next
    redraw finds it drawn and neither decodes nor uploads the mask again."""
    layer.metadata["blockplan"] = _scar_meta(region, np.asarray(layer.data))
    layer.name = _name("scar")
    _made(layer)
    _undone_in_the_panel(layer)


_UNDO_KEYS = {"Ctrl+Z": "undo", "Ctrl+Shift+Z": "redo"}
"""napari's undo and redo keys of a labels layer, and what they do on the scar layer."""


def _undone_in_the_panel(layer: Any) -> None:
    """On the scar layer (the canvas focused), Ctrl+Z and Ctrl+Shift+Z undo and redo the
    case's last edit, as on the rest of the canvas — not napari's own paint undo, which took
    a stroke off the layer with no event, so the case kept a scar the canvas no longer
    showed. A stroke is an edit of the case; undone, the layer is drawn from the case."""
    from napari_blockplan._widgets._panel import step_case
    from napari_blockplan._workspace import workspace_for

    def _stepping(step: str) -> Any:
        def _step(stepped: Any) -> None:
            for viewer in list(_GUARDED):
                if stepped in viewer.layers:
                    # a refused save is said, as in the panels (nothing undone or redone)
                    said, _refused = step_case(workspace_for(viewer), step)
                    viewer.status = f"blockplan: {said}"

        return _step

    for key, step in _UNDO_KEYS.items():
        layer.bind_key(key, _stepping(step), overwrite=True)
