"""Procedural rooms: IDesign-style scene graphs built from a reference layout.

:func:`generate_task` draws one room from a seed (``numpy.random.default_rng(seed)``, no global
randomness, so the same seed always gives the same task). It works layout-first:

1. pick a room type, a size typical for it, a style and a target object count;
2. place anchors against walls or in the middle of the room (bed, sofa, desk, dining table,
   kitchen counter run, bookshelves ...), then satellites relative to them (nightstands left and
   right of the bed, a chair in front of the desk facing it, chairs around the table, a lamp on
   the nightstand, wall art above the sofa, a pendant light on the ceiling above the table, a rug
   under the coffee table ...), then fillers (plants in corners, lamps, wall art, shelves ...).
   Every candidate pose is checked against the room bounds, the poses already placed (no
   penetration except declared ``on``/``under`` pairs) and the clearance kept in front of beds,
   wardrobes, counters and the like; objects that do not fit are dropped;
3. emit only rules the layout satisfies: each rule is measured with
   :mod:`metaspatial_env.relations` on the placed boxes before it is written, and the finished
   task is re-measured with :func:`~metaspatial_env.relations.evaluate_rules` (every violation
   must be 0), re-checked for bounds and collisions, and rejected otherwise.

Conventions of the reference layout (``Task.reference_layout``): floor objects rest at
``z = height / 2``; an object ``on`` another rests on its top; wall-mounted objects are flush
against their wall (2 mm gap) at a sensible height; ceiling objects touch the ceiling (2 mm gap);
headings are 0/90/180/270 so they match the walls. Sizes are rounded to 1 cm (1 mm below 10 cm),
positions to 0.1 mm, so the rounded layout is the one that was checked.

Scene-graph conventions: an object against a wall gets ``{layout_element_id: <wall>,
preposition: "on"}`` (or ``in the corner``) and usually faces the opposite wall; wall-mounted and
ceiling objects, and objects ``on`` another, have ``is_on_the_floor: false``; ``facing`` names the
wall an object points at or the object it turns to (within the 30 degree tolerance of
:func:`~metaspatial_env.relations.facing_violation`), else null. A rug only overlaps objects that
stand wholly on it and is declared ``under`` each of them (so collision checks may exempt those
pairs); no other pair of boxes interpenetrates.

``dense=True`` packs 14-20 objects into the smaller rooms of a type (the ``hard`` split). The
object count is drawn in ``[min_objects, max_objects]``; the generator retries with fresh room
sizes until at least ``min_objects`` fit (``RuntimeError`` if 40 attempts fail, which the
bundled ranges never do).

The package, lowest first: :mod:`.constants` (room sizes, gaps, front clearances),
:mod:`.records` (an object before and after placement), :mod:`.room` (the placement toolkit:
poses, the fit check, rule emission), :mod:`.groups` (one builder per furniture group: bed, sofa,
desk, table, kitchen run, screen wall ...), :mod:`.recipes` and :mod:`.fillers` (what each room
type is built from, as tables), :mod:`.rugs`, :mod:`.preference` (the user preference text),
:mod:`.verify` (:func:`verify_reference_layout`), :mod:`.output` (room to task) and
:mod:`.driver` (:func:`generate_task`).
"""

from __future__ import annotations

from ..catalog import ROOM_TYPES
from .constants import CEILING_GAP, ROOM_HEIGHTS, ROOM_SIZE_RANGES, WALL_GAP  # noqa: F401 (re-exported)
from .driver import _generate, generate_task  # noqa: F401 (_generate: the tests read the dropped rules)
from .verify import verify_reference_layout

__all__ = ["ROOM_TYPES", "ROOM_SIZE_RANGES", "generate_task", "verify_reference_layout"]
