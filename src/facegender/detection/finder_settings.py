"""Settings of the BlazeFace face finder, each with the measurement that chose it.

Recorded whole in a model's manifest (``serving_detector``), so a model is always
served with the finder it was measured with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..errors import check_ranges


@dataclass(frozen=True)
class FinderSettings:
    """Settings of :class:`FaceFinder` (measured in reports/detection.md)."""

    kind: str = "blazeface"
    """Recorded in manifests so :func:`detector_for` can rebuild this detector."""
    work_size: int = 320
    """Longer side of the searched copy: the network sees 192 px anyway, so more costs
    resizing only; smaller photos are not enlarged."""
    min_score: float = 0.5
    """BlazeFace score a face needs (MediaPipe's own: 0.5 short range, 0.6 full range;
    0.6 lost a group face, a scene face and 3% of the IMDB-WIKI photos)."""
    edge_pad: float = 0.25
    """Border of a second search on photos where the first found ``edge_min_faces`` or more
    (groups, scenes): faces cut by the frame's edge need context the photo does not have.
    Its new faces must pass the face check. 0 = off."""
    edge_min_faces: int = 2
    edge_min_score: float = 0.5
    min_inside: float = 0.4
    """Share of a face's box that must be inside the photo for it to count (0.5 lost a
    face cut by the edge of a selfie)."""
    tight_pad: float = 0.25
    """Border, as a fraction of the longer side, of the second pass for faces filling the
    frame (UTKFace's chips: 12% found without, 98% with); 0 = off."""
    weak_score: float = 0.3
    """When the padded pass's faces fail the face check (or it finds none), its weak
    candidates (scoring this to ``min_score``; the ``weak_max`` best, from the same network
    run) get the check too, kept only upright (:func:`.later_passes.upright_face`): faces
    turned to the side, small or dim, that the network scores low on the whole photo but
    sure with context around them. Chosen on 134 photos of 2,500 IMDB-WIKI photos outside
    the benchmark's sample where the finder found nothing: 0.3 found 7 (all real faces),
    0.2 found 11 but boxed 3 more of 221 torsos cut below the only face of other IMDB-WIKI
    photos (0.3: 1 more; the finder without it already boxes 32 of them, mostly jerseys'
    numbers and logos); on the tuning sets 3 more UTKFace faces and 1 IMDB-WIKI photo, no
    box lost or turned, no false box, 0.9 fewer network runs a UTKFace photo. 1.0 = off."""
    weak_max: int = 2
    rotations: bool = True
    """Search copies turned by 90, 270 and 180 degrees when nothing upright is found."""
    short_range: bool = True
    """The short-range model last: large faces and selfies the other passes missed."""
    small_face_size: int = 640
    """Longer side of the copy whose overlapping tiles are searched when the largest face
    found is under ``small_face_ratio`` of the photo's shorter side; 0 = off. 480 (2x2 tiles
    of ``work_size`` instead of 3x2) saved 22% of the time on the group photos for the same
    43 group faces, 24 in bald_guys.jpg and 52 in the clip's audience, but lost a 22 px face
    in two of four frames of the clip's first second (a 640 px frame searched at 480); 400
    (2x1 tiles) lost 4 of bald_guys' faces."""
    small_face_pass: str = "wide"
    """How the ``small_face_size`` copy is searched: ``"wide"``, one run of the full-range
    model resized to the copy's shape at the tiles' scale (:mod:`.tflite_graph`: 384x288 for
    a 4:3 photo), or ``"tiles"``, overlapping ``work_size`` tiles of it, one run each (the
    finder until 2026-12-03, kept so older records rebuild exactly). On the tuning sets
    (reports/detection.md) the wide pass, with ``small_face_min_score`` 0.45, finds the faces
    the tiles found and two more, in one network run instead of 4-6."""
    tile_overlap: float = 0.25
    """Least share of a tile's side two neighbouring tiles cover together. A quarter (80 px
    of a 320 px tile, twice the largest face the tiles are for) instead of a half: 2x2 tiles
    instead of 3x2 on a 500x375 photo, the same faces found on every tuning set, group
    and scene photo, the clip's audience and the turned photos, 14% less time on the
    group photos (27.5 -> 23.7 ms)."""
    small_face_ratio: float = 0.25
    small_face_min_score: float = 0.45
    """Score a face from the small-face search needs; it must also pass the face check (at 0.5
    without the check tiles boxed dogs and galaxies; at 0.7 they missed a pianist in the
    clip). 0.5 for the tiles; 0.45 for the wide pass, which scored an audience face of the
    clip 0.46-0.49 where its tile scored 0.50-0.51 (two of 13 frames); at 0.45 it finds every
    face the tiles found on the tuning sets, two more in an IMDB-WIKI team photo, and no
    box on the 221 torsos or the photos without a face."""
    box_scale: float = 0.93
    """dlib's box side over BlazeFace's for the same face: the median over the 316 of 400
    IMDB-WIKI photos where both find one face (benchmarks/box_mapping.py)."""
    box_shift: float = 0.01
    """dlib's box centre minus BlazeFace's, downwards, as a fraction of the side (same fit)."""
    min_angle: float = 20.0
    """Turned faces (eye line tilted by at least this many degrees) carry their angle so
    the aligner turns them upright; smaller tilts dlib's landmarks handle by themselves."""
    orient_below: float = 0.65
    """A first-pass best face scoring under this is checked in four turns: 83-97% of the faces
    the upright pass finds on turned IMDB-WIKI photos score under 0.65, 19% of upright ones."""
    turn_margin: float = 0.15
    """How much better a turned view of a face must score in the face check than the upright
    one before it is taken as turned: profiles score nearly as well turned as upright. On
    300 IMDB-WIKI photos and 80 of each turn: 0.1 turned 0.3% of the upright faces the
    wrong way, 0.15 none (and 84-91% of the turned ones right), 0.2 fewer turned right."""
    check_score: float = 0.55
    """The face check's score (:meth:`FaceFinder.check`) a face needs when only a later
    pass, the border pass or dlib found it. On 50 false boxes (clothes, hands, coins, dogs,
    textures; all 6 the dlib chain makes) and 649 real faces of IMDB-WIKI, UTKFace and the
    detection photos, false ones scored at most 0.42 and 2 real faces under 0.5; in its
    four turns a coin scored 0.51, so 0.55 (no IMDB-WIKI or UTKFace face lost by it)."""
    sure_score: float = 0.75
    """A later pass's face whose upright check scores this much is taken as upright without
    looking at its turns (three more network runs)."""
    orient_sure: float = 0.75
    """The same for the first pass's best face when it is checked for the photo's turn
    (1.0: every such face looked at in four turns; 0.75 found and turned the same faces on
    the turned IMDB-WIKI photos, UTKFace -27% time)."""
    doubt_below: float = 0.45
    """A first-pass best face scoring under ``orient_below`` that the face check, asked for
    its turn, scores under this in every turn is kept but doubted (:attr:`Box.doubtful`:
    its answer is never sure). Why: the first pass boxes jersey numbers, logos and hands on
    photos of a torso (32 of 221 torsos cut below IMDB-WIKI faces), and the default model
    answered 9 of them with a sure "male". Chosen on those and the tuning sets (largest face
    of 400 IMDB-WIKI and 800 UTKFace photos): 0.3 left 6 of the 9 sure, doubting 2 real
    faces (one sure answer lost); 0.45 leaves 4, doubting 4 real faces (2 sure answers lost,
    both right); 0.55 leaves 3, doubting 10 (5 lost); no group, scene or audience face is
    doubted at any of them. Dropping such faces instead lost real ones (reports/detection.md).
    0 = off."""
    trust_score: float = 0.7
    """A face a later upright pass (border, tiles, the padded pass) finds scoring this much
    is kept without the check: no false box on the group, no-face and clothing photos, one
    more IMDB-WIKI photo found in 400 (the check took it for a turned face)."""
    short_trust_score: float = 0.85
    """A face the short-range pass finds scoring this much is kept even when the face check
    fails (1.01: never). Why: on close-ups (a face filling the frame, cut by it) the
    short-range model is sure where the check, the full-range model on the box with context,
    is not (0.54 on a clear frontal face of IMDB-WIKI). Chosen on the tuning sets: IMDB-WIKI
    found 95.75% -> 96.25% (0.8: 96.5%, 0.75: 96.75%), nothing else changed; the short-range
    model scored at most 0.50 on the no-face and clothing photos, but 0.77 on a hockey jersey's
    logo (an IMDB-WIKI photo kept at 0.75), hence the margin."""
    max_runs: int = 16
    """Network runs the later passes may spend on a photo where the first found nothing: the
    slowest photos ran 21 (a face filling the frame, candidates failing the check in each
    pass). 16 lost none of the turned IMDB-WIKI photos' faces, 12 one in 150."""
    later_check_size: int = 128
    """Input side of the cheap look that screens a later pass's candidates before the face
    check (:func:`.face_check.screened_check`): what it scores under ``later_screen`` in every
    turn is refused unchecked. Why: on photos where the first pass finds nothing the checks
    are most of the network runs, and a 128 px run costs about half a 192 px one. Its runs
    count in ``max_runs`` like the check's. 192: no screen (the finder until 2026-12-03;
    older records rebuild so)."""
    later_screen: float = 0.4
    """The screen's bar. On the tuning sets (reports/detection.md, 2026-12-04): every UTKFace,
    IMDB-WIKI, group, scene and audience face as before, 3 fewer boxes on the 221 torsos
    (35 -> 32), 2 of the 142 turned photos' faces lost (one at its right angle), nothing more
    on the photos without a face, the 10 slowest images 62-83 -> 47-53 ms; on the 1,100
    IMDB-WIKI photos of the benchmark's sample outside the tuning set, the same boxes. 0.45
    lost one of those 1,100 (a profile). Deciding at 128 px instead of screening (bar 0.6,
    the face placed by the 192 px view) dropped 6 torso boxes but lost 6 real profiles of
    the 1,100."""
    second_model: str = "centerface"
    """A second face network asked when the first pass finds nothing, right after the
    padded pass (:mod:`.centerface`, :func:`.later_passes.second_faces`); its faces are kept
    without the face check (the check is the full-range BlazeFace, which refuses the
    profiles it is there for). ``""``: off (the finder until 2026-12-04; older records
    rebuild so)."""
    second_score: float = 0.5
    """CenterFace's score a face needs. Chosen on 144 IMDB-WIKI photos outside the benchmark's
    sample where the finder found nothing, and the 221 torsos: 0.5 boxed 57 of the 144 (real
    faces, profiles, helmets, masks, dim ones; one drawn face) and 1 torso the finder found
    nothing on; 0.4: 67 and 4; 0.3: 80 and 11, hands and a castle among them; no box on the
    photos without a face at any of them."""
    second_close_size: int = 160
    """Longer side of a smaller copy the second network searches first; only when it finds
    no face there does it search the work copy (:func:`.later_passes.second_search`). 0: the
    work copy only (the finder until 2026-12-05; older records rebuild so). Why: the faces
    left to it are mostly close-ups, which it scores higher and boxes tighter in a small
    copy, at a third of the cost (2.5 against 7.6 ms on two threads). On the tuning images
    (2,733: the quick sets and 1,100 other IMDB-WIKI photos, 2026-12-05) 160 found 3 more
    real faces (a painted and masked close-up, a small painter, a turned face) and 2 more
    turned photos' faces at their right angle (119 against 117 of 150), no new box on the
    torsos, no-face photos or their variants; 10 faces' boxes moved (tighter, or turned
    nearer their truth but for two 90-degree ones read 35-41 degrees off). 224: the same
    3 faces, 1 more at its angle; 192: a torso boxed; 128: 1 face more. On detection.py's
    held-out photos: IMDB-WIKI 97.1% -> 97.3%, but 119 instead of 121 of its 150 turned
    photos' faces at their angle."""
    second_max_tilt: float = 180.0
    """Largest eye-line tilt, in degrees, of a face the second network finds for it to be kept
    (when one is more tilted, the later passes go on as without it); 180: every face kept,
    its angle set by the face check's turns (``second_flip_margin``) or its own eye line.
    Why 180: at 30 (the first choice: on turned photos its landmarks lean halfway, 45-65
    degrees for a face on its side) the photos where it finds a tilted face paid for it and
    for every turned pass (a pixabay-external photo 104 ms, 6x the median); kept and looked
    at in three turns instead, the turned photos' faces at their right angle went 114 -> 117
    (tuning set) and 123 -> 123 (detection.py's), 5 more faces were found on 3,600 upright
    IMDB-WIKI photos (heads tilted 33-45 degrees, looking down), torsos and no-face photos
    unchanged."""
    second_upright_tilt: float = 20.0
    """A second-network face whose eye line is tilted less than this many degrees is looked
    at upside down only (one run), not in its three turns (``second_flip_margin``); 0:
    always three turns (the finder until 2026-12-05; older records rebuild so). Why: of the
    85 faces it found on the tuning images, the 36 it read within 25 degrees of upright were
    either upright or upside down (two turned photos, both put right by the 180-degree
    look), never on their side; with 20 the tuning images' faces, boxes and angles are the
    same, two runs fewer (~3.5 ms) for each such face."""
    second_flip_margin: float = 0.25
    """How much better the face check must score a second-network face in a turn (90, 270 or
    180 degrees) than upright to take it as turned so. Its faces on three upside-down
    IMDB-WIKI photos it took for upright scored 0.26-0.47 better upside down; on 90 faces it
    found in upright IMDB-WIKI photos where the finder had found nothing, at most 0.19 better
    (a profile). Checked after in all three turns: the 150 turned photos of the benchmark
    keep their 123 faces at the right angle (121 when only 180 degrees was looked at), the
    84 faces it adds on 3,600 upright IMDB-WIKI photos none turned. 1.0: never."""
    second_box_scale: float = 0.87
    """BlazeFace's square side over CenterFace's box height for the same face: the median over
    338 of 600 IMDB-WIKI photos where both find one face (IQR 0.83-0.91)."""
    second_box_shift: float = 0.045
    """BlazeFace's box centre minus CenterFace's, downwards, as a fraction of the side (same
    fit; IQR 0.02-0.06)."""
    check_margin: float = 1.0
    """Context around the box the face check sees, in box sides on each side."""
    shrink: str = "fast"
    """How the finder shrinks what its networks read: ``"fast"``, an area average by a whole
    factor then bilinear, for the work copies (:func:`.passes.work_copy`) and the face
    check's view (:func:`.face_check.view`, cut at the network's size); ``"area"``, OpenCV's
    area average in one step (the finder until 2026-12-04; older records rebuild so).
    Measured side by side, the work copies first: the same faces on 800 UTKFace photos, 390
    of 400 IMDB-WIKI tuning photos with a face either way, 2,414 against 2,411 of 2,500 other
    IMDB-WIKI photos (25 faces lost, 29 new: the margin), groups, scenes, the audience frames
    and no-face photos the same; 35 against 33 boxes on the 221 torsos (two of 8-11 px, one a
    chin), 118 against 117 of the 150 turned photos with a face at its right angle;
    pixabay-external's detection 9.9 -> 8.3 ms a photo (the same face counts). Then the
    check's view: every tuning set the same faces (boxes moved by 1-2 px where the check
    places them), 117 against 118 turned photos at the right angle, the 2,500 photos the
    same 2,473 faces; UTKFace's close-ups 11.2 -> 9.6 ms, pixabay-external 8.6 -> 7.4 ms.
    Whole factors that are even are then taken as halvings (:func:`.passes.block_average`):
    every tuning set the same boxes; a 4000x3000 photo's work copy 13 -> 3.6 ms (35 ms by
    one-step area)."""
    runtime: str = "litert"
    """``"litert"`` (Google's TFLite runtime) or ``"opencv"`` (cv2.dnn): same boxes, LiteRT
    about 2x faster."""
    dlib_fallback: bool = False
    """When every pass finds nothing, ask dlib's HOG/Haar/CNN chain (slow; off)."""

    def validate(self) -> FinderSettings:
        """Raise :class:`BadRequest` naming the bad value and the allowed range."""
        checks = [
            (self.kind == "blazeface", "kind", "'blazeface'", self.kind),
            (self.shrink in ("fast", "area"), "shrink", "'fast' or 'area'", self.shrink),
            (64 <= self.work_size <= 4096, "work_size", "64..4096", self.work_size),
            (0.05 <= self.min_score <= 1.0, "min_score", "0.05..1", self.min_score),
            (0.0 <= self.tight_pad <= 1.0, "tight_pad", "0..1", self.tight_pad),
            (0.05 <= self.weak_score <= 1.0, "weak_score", "0.05..1", self.weak_score),
            (0 <= self.weak_max <= 100, "weak_max", "0..100", self.weak_max),
            (self.small_face_size == 0 or self.work_size < self.small_face_size <= 4096,
             "small_face_size", "0 (off) or work_size..4096", self.small_face_size),
            (0.0 <= self.tile_overlap <= 0.75, "tile_overlap", "0..0.75", self.tile_overlap),
            (self.small_face_pass in ("wide", "tiles"), "small_face_pass", "'wide' or 'tiles'",
             self.small_face_pass),
            (0.0 < self.small_face_ratio <= 1.0, "small_face_ratio", "0..1",
             self.small_face_ratio),
            (0.05 <= self.small_face_min_score <= 1.0, "small_face_min_score", "0.05..1",
             self.small_face_min_score),
            (0.5 <= self.box_scale <= 1.5, "box_scale", "0.5..1.5", self.box_scale),
            (-0.5 <= self.box_shift <= 0.5, "box_shift", "-0.5..0.5", self.box_shift),
            (0.0 <= self.min_angle <= 180.0, "min_angle", "0..180", self.min_angle),
            (1 <= self.edge_min_faces <= 1000, "edge_min_faces", "1..1000", self.edge_min_faces),
            (0.05 <= self.edge_min_score <= 1.0, "edge_min_score", "0.05..1",
             self.edge_min_score),
            (0.1 <= self.min_inside <= 1.0, "min_inside", "0.1..1", self.min_inside),
            (0.0 <= self.edge_pad <= 1.0, "edge_pad", "0..1", self.edge_pad),
            (0.05 <= self.check_score <= 1.0, "check_score", "0.05..1", self.check_score),
            (0.0 <= self.check_margin <= 3.0, "check_margin", "0..3", self.check_margin),
            (self.second_model in ("", "centerface"), "second_model", "'' or 'centerface'",
             self.second_model),
            (0.05 <= self.second_score <= 1.0, "second_score", "0.05..1", self.second_score),
            (self.second_close_size == 0 or 64 <= self.second_close_size < self.work_size,
             "second_close_size", "0 (off) or 64..work_size", self.second_close_size),
            (0.0 <= self.second_max_tilt <= 180.0, "second_max_tilt", "0..180",
             self.second_max_tilt),
            (0.0 <= self.second_upright_tilt <= 90.0, "second_upright_tilt", "0..90",
             self.second_upright_tilt),
            (0.0 <= self.second_flip_margin <= 1.0, "second_flip_margin", "0..1",
             self.second_flip_margin),
            (0.5 <= self.second_box_scale <= 1.5, "second_box_scale", "0.5..1.5",
             self.second_box_scale),
            (-0.5 <= self.second_box_shift <= 0.5, "second_box_shift", "-0.5..0.5",
             self.second_box_shift),
            (0.0 <= self.sure_score <= 1.0, "sure_score", "0..1", self.sure_score),
            (0.0 <= self.orient_sure <= 1.0, "orient_sure", "0..1", self.orient_sure),
            (0.0 <= self.trust_score <= 1.0, "trust_score", "0..1", self.trust_score),
            (0.0 <= self.doubt_below <= 1.0, "doubt_below", "0..1", self.doubt_below),
            (0.0 <= self.short_trust_score <= 1.01, "short_trust_score", "0..1.01",
             self.short_trust_score),
            (self.later_check_size in (64, 96, 128, 160, 192), "later_check_size",
             "64, 96, 128, 160 or 192", self.later_check_size),
            (0.0 <= self.later_screen <= 1.0, "later_screen", "0..1", self.later_screen),
            (1 <= self.max_runs <= 1000, "max_runs", "1..1000", self.max_runs),
            (0.0 <= self.orient_below <= 1.0, "orient_below", "0..1", self.orient_below),
            (0.0 <= self.turn_margin <= 1.0, "turn_margin", "0..1", self.turn_margin),
            (self.runtime in ("litert", "opencv"), "runtime", "'litert' or 'opencv'",
             self.runtime),
        ]
        check_ranges(checks)
        return self

    def to_manifest(self) -> dict[str, Any]:
        """The settings as a manifest records them."""
        return asdict(self)
