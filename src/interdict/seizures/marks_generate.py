"""Synthetic marks (logos, stamps, press marks) and the distortions of a seizure photograph.

Why synthetic: real stamp databases (INTERPOL Relief, national hashish-stamp collections) are
restricted, so the retrieval engine in :mod:`interdict.seizures.marks` is developed and guarded
on marks drawn here. Each class is one logo, drawn deterministically from ``(seed, class_id)``
out of the ingredients seen on real seizures: brand names and numbers in several typefaces,
stars, crowns, leaves, animal-like silhouettes, crescents, rings, frames and rules, filled or
outlined. :func:`distort` then turns a logo into what an officer photographs: the mark pressed
or printed on a hashish, cocoa-coloured or plastic-wrapped surface, turned by any angle, scaled,
seen at a slant, partly hidden or cut off by the frame, badly lit, blurred, noisy and
JPEG-compressed.

Limits, said plainly: the surfaces are procedural textures, not photographs; the relief of a
pressed mark is simulated (a darker bottom and a modest shading of its slopes from a random
light direction), not rendered; marks are always darker than their surface; and two classes
may share a symbol, frame, typeface and brand word (as real stamps do) but never their full
text, since the class number is part of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Rng = np.random.Generator

#: Size of a drawn logo (square, pixels).
STAMP_SIZE = 384

FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_DUPLEX,
         cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_COMPLEX_SMALL,
         cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_COMPLEX)

_SYLLABLES = ("ka", "zo", "ra", "mi", "to", "ny", "ba", "lu", "xo", "de", "vi", "go", "sa",
              "ma", "ri", "ko", "el", "an", "ar", "os", "un", "ti", "pe", "ch", "ol", "ex")
_WORDS = ("GOLD", "KING", "ROLEX", "OMEGA", "LION", "TIGER", "STAR", "ROYAL", "AK", "BMW",
          "CAMEL", "DIAMOND", "TONY", "BOSS", "CHANEL", "DOLLAR", "ZARA", "DRAGON", "PUMA",
          "NIKE", "APPLE", "COBRA", "EAGLE", "SCORPION", "VIP", "LUCKY", "GHOST", "MAGIC")


def _rng(class_id: int, seed: int) -> Rng:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, int(class_id), 0x5EED])


def _points(pts: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]:
    return np.round(pts).astype(np.int32).reshape(-1, 1, 2)


def _polygon(img: Image, pts: npt.NDArray[np.float64], filled: bool, thick: int) -> None:
    if filled:
        cv2.fillPoly(img, [_points(pts)], 0, cv2.LINE_AA)
    else:
        cv2.polylines(img, [_points(pts)], True, 0, thick, cv2.LINE_AA)


def _star(img: Image, c: tuple[float, float], r: float, rng: Rng, filled: bool,
          thick: int) -> None:
    n = int(rng.integers(5, 9))
    inner = rng.uniform(0.35, 0.6)
    phase = rng.uniform(0, 2 * np.pi)
    angles = phase + np.arange(2 * n) * np.pi / n
    radii = np.where(np.arange(2 * n) % 2 == 0, r, r * inner)
    pts = np.stack([c[0] + radii * np.cos(angles), c[1] + radii * np.sin(angles)], axis=1)
    _polygon(img, pts, filled, thick)


def _crown(img: Image, c: tuple[float, float], r: float, rng: Rng, filled: bool,
           thick: int) -> None:
    spikes = int(rng.integers(3, 6))
    w, h = r * 1.8, r * rng.uniform(1.0, 1.5)
    x0, y0 = c[0] - w / 2, c[1] + h / 2
    pts = [(x0, y0), (x0 + w, y0)]
    for i in range(spikes, -1, -1):
        x = x0 + w * i / spikes
        pts.append((x, y0 - h))
        if i:
            pts.append((x - w / spikes / 2, y0 - h * rng.uniform(0.35, 0.6)))
    _polygon(img, np.array(pts), filled, thick)
    for i in range(spikes + 1):
        cv2.circle(img, (round(x0 + w * i / spikes), round(y0 - h - r * 0.12)),
                   max(3, round(r * 0.1)), 0, -1, cv2.LINE_AA)


def _creature(img: Image, c: tuple[float, float], r: float, rng: Rng, filled: bool,
              thick: int) -> None:
    """A lumpy silhouette with ears, legs or fins: the animal-like logos of real stamps."""
    angles = np.linspace(0, 2 * np.pi, 120, endpoint=False)
    radius = np.ones_like(angles)
    for k in range(2, 6):
        radius += rng.uniform(0.03, 0.12) * np.cos(k * angles + rng.uniform(0, 2 * np.pi))
    for _ in range(int(rng.integers(2, 6))):  # protrusions
        centre, width = rng.uniform(0, 2 * np.pi), rng.uniform(0.08, 0.25)
        gap = np.angle(np.exp(1j * (angles - centre)))
        radius += rng.uniform(0.3, 0.7) * np.exp(-(gap / width) ** 2)
    radius *= r / radius.max()
    stretch = rng.uniform(0.7, 1.3)
    pts = np.stack([c[0] + radius * np.cos(angles) * stretch,
                    c[1] + radius * np.sin(angles) / stretch], axis=1)
    _polygon(img, pts, filled, thick)
    if filled:  # an eye, so that the silhouette has an inside
        eye = (round(c[0] + r * rng.uniform(-0.3, 0.3)), round(c[1] - r * 0.3))
        cv2.circle(img, eye, max(3, round(r * 0.09)), 255, -1, cv2.LINE_AA)


def _leaf(img: Image, c: tuple[float, float], r: float, rng: Rng, filled: bool,
          thick: int) -> None:
    blades = int(rng.choice([5, 7, 9]))
    spread = rng.uniform(0.6, 0.9) * np.pi
    for i in range(blades):
        a = -np.pi / 2 + spread * (i / (blades - 1) - 0.5)
        length = r * (1 - 0.5 * abs(i / (blades - 1) - 0.5) * 2) * rng.uniform(0.85, 1.0)
        centre = (round(c[0] + np.cos(a) * length / 2), round(c[1] + r * 0.3 + np.sin(a)
                                                              * length / 2))
        axes = (max(2, round(length / 2)), max(2, round(length * 0.12)))
        cv2.ellipse(img, centre, axes, math.degrees(a), 0, 360, 0,
                    -1 if filled else thick, cv2.LINE_AA)
    cv2.line(img, (round(c[0]), round(c[1] + r * 0.3)), (round(c[0]), round(c[1] + r)), 0,
             thick, cv2.LINE_AA)


def _crescent(img: Image, c: tuple[float, float], r: float, rng: Rng, filled: bool,
              thick: int) -> None:
    ci = (round(c[0]), round(c[1]))
    cv2.circle(img, ci, round(r), 0, -1 if filled else thick, cv2.LINE_AA)
    a = rng.uniform(0, 2 * np.pi)
    off = r * rng.uniform(0.3, 0.5)
    cv2.circle(img, (round(c[0] + off * np.cos(a)), round(c[1] + off * np.sin(a))),
               round(r * 0.85), 255, -1, cv2.LINE_AA)


def _bolt(img: Image, c: tuple[float, float], r: float, rng: Rng, filled: bool,
          thick: int) -> None:
    k = rng.uniform(0.15, 0.35)
    pts = np.array([(0.2, -1), (-0.5, 0.1), (-k, 0.1), (-0.3, 1), (0.5, -0.15), (k, -0.15)])
    pts = pts * r
    if rng.random() < 0.5:
        pts[:, 0] *= -1
    _polygon(img, pts + np.array(c), filled, thick)


def _regular(img: Image, c: tuple[float, float], r: float, rng: Rng, filled: bool,
             thick: int) -> None:
    n = int(rng.choice([3, 4, 6, 8]))
    phase = rng.uniform(0, 2 * np.pi)
    a = phase + np.arange(n) * 2 * np.pi / n
    _polygon(img, np.stack([c[0] + r * np.cos(a), c[1] + r * np.sin(a)], axis=1), filled,
             thick)
    if rng.random() < 0.5:  # a second, inner outline
        _polygon(img, np.stack([c[0] + 0.6 * r * np.cos(a + np.pi / n),
                                c[1] + 0.6 * r * np.sin(a + np.pi / n)], axis=1), False,
                 max(2, thick // 2))


def _rings(img: Image, c: tuple[float, float], r: float, rng: Rng, filled: bool,
           thick: int) -> None:
    ci = (round(c[0]), round(c[1]))
    for k in range(int(rng.integers(2, 4))):
        cv2.circle(img, ci, round(r * (1 - 0.3 * k)), 0, thick, cv2.LINE_AA)
    n = int(rng.integers(3, 9))
    a0 = rng.uniform(0, 2 * np.pi)
    for i in range(n):  # spokes make the rings a rotation-distinctive pattern
        a = a0 + 2 * np.pi * i / n
        cv2.line(img, ci, (round(c[0] + r * np.cos(a)), round(c[1] + r * np.sin(a))), 0,
                 max(2, thick // 2), cv2.LINE_AA)
    if filled:
        cv2.circle(img, ci, round(r * 0.2), 0, -1, cv2.LINE_AA)


SYMBOLS = (_star, _crown, _creature, _leaf, _crescent, _bolt, _regular, _rings)


def _brand(class_id: int, rng: Rng) -> str:
    """A name unique to the class: a word or syllables, with the class number folded in."""
    # Mostly invented names; a quarter reuse a famous brand word, so that some classes differ
    # only by their number, as real counterfeit-brand stamps do.
    kind = rng.random()
    if kind < 0.25:
        text = str(rng.choice(_WORDS))
    else:
        text = "".join(rng.choice(_SYLLABLES, size=int(rng.integers(2, 4)))).upper()
    # The class number in base 36 guarantees different text for different classes.
    digits, n = "", class_id
    while True:
        n, rem = divmod(n, 36)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[rem] + digits
        if n == 0:
            break
    return text + (" " if rng.random() < 0.5 else "") + digits


def _text(img: Image, text: str, centre: tuple[float, float], width: float, rng: Rng) -> None:
    font = int(rng.choice(FONTS)) | (cv2.FONT_ITALIC if rng.random() < 0.2 else 0)
    thick = int(rng.integers(2, 6))
    (w, h), _ = cv2.getTextSize(text, font, 1.0, thick)
    scale = min(width / max(w, 1), 70 / max(h, 1))
    (w, h), _ = cv2.getTextSize(text, font, scale, thick)
    org = (round(centre[0] - w / 2), round(centre[1] + h / 2))
    cv2.putText(img, text, org, font, scale, 0, thick, cv2.LINE_AA)


def _frame(img: Image, rng: Rng, thick: int) -> float:
    """Draw an outer frame (or none); return the radius left for the content."""
    s = STAMP_SIZE
    c = (s // 2, s // 2)
    kind = int(rng.integers(0, 6))
    if kind == 0:
        return s * 0.46
    if kind == 1:
        cv2.circle(img, c, round(s * 0.46), 0, thick, cv2.LINE_AA)
        if rng.random() < 0.5:
            cv2.circle(img, c, round(s * 0.40), 0, max(2, thick // 2), cv2.LINE_AA)
            return s * 0.36
        return s * 0.40
    if kind == 2:
        m = round(s * rng.uniform(0.04, 0.1))
        cv2.rectangle(img, (m, m), (s - m, s - m), 0, thick, cv2.LINE_AA)
        return s * 0.40
    if kind == 3:  # shield
        pts = np.array([(0.1, 0.08), (0.9, 0.08), (0.9, 0.5), (0.5, 0.95), (0.1, 0.5)]) * s
        cv2.polylines(img, [_points(pts)], True, 0, thick, cv2.LINE_AA)
        return s * 0.36
    if kind == 4:  # ring of small dots or stars
        n = int(rng.integers(8, 20))
        for i in range(n):
            a = 2 * np.pi * i / n
            p = (round(c[0] + s * 0.44 * np.cos(a)), round(c[1] + s * 0.44 * np.sin(a)))
            cv2.circle(img, p, int(rng.integers(4, 9)), 0, -1, cv2.LINE_AA)
        return s * 0.38
    n = int(rng.choice([6, 8]))
    turns = rng.uniform(0, np.pi) + np.arange(n) * 2 * np.pi / n
    pts = np.stack([c[0] + s * 0.46 * np.cos(turns), c[1] + s * 0.46 * np.sin(turns)], axis=1)
    cv2.polylines(img, [_points(pts)], True, 0, thick, cv2.LINE_AA)
    return s * 0.38


def stamp(class_id: int, seed: int = 0) -> Image:
    """The logo of one class: black on white, ``STAMP_SIZE`` square, same for same arguments."""
    rng = _rng(class_id, seed)
    s = STAMP_SIZE
    img = np.full((s, s), 255, np.uint8)
    thick = int(rng.integers(3, 8))
    room = _frame(img, rng, thick)
    c = s / 2
    layout = int(rng.integers(0, 4))
    text = _brand(class_id, rng)
    symbol = SYMBOLS[int(rng.integers(0, len(SYMBOLS)))]
    filled = bool(rng.random() < 0.6)
    if layout == 0:  # symbol above text
        symbol(img, (c, c - room * 0.25), room * 0.55, rng, filled, thick)
        _text(img, text, (c, c + room * 0.62), room * 1.5, rng)
    elif layout == 1:  # text above symbol, numbers below
        _text(img, text, (c, c - room * 0.6), room * 1.5, rng)
        symbol(img, (c, c + room * 0.15), room * 0.5, rng, filled, thick)
        _text(img, str(int(rng.integers(1, 1000))), (c, c + room * 0.78), room * 0.7, rng)
    elif layout == 2:  # text only, between rules
        _text(img, text, (c, c), room * 1.7, rng)
        y = round(room * rng.uniform(0.3, 0.45))
        cv2.line(img, (round(c - room * 0.8), round(c - y)), (round(c + room * 0.8),
                 round(c - y)), 0, thick, cv2.LINE_AA)
        cv2.line(img, (round(c - room * 0.8), round(c + y)), (round(c + room * 0.8),
                 round(c + y)), 0, thick, cv2.LINE_AA)
    else:  # two symbols and text
        symbol(img, (c - room * 0.45, c - room * 0.3), room * 0.38, rng, filled, thick)
        other = SYMBOLS[int(rng.integers(0, len(SYMBOLS)))]
        other(img, (c + room * 0.45, c - room * 0.3), room * 0.38, rng, not filled, thick)
        _text(img, text, (c, c + room * 0.5), room * 1.6, rng)
    return img


# --- distortions ------------------------------------------------------------------------------

#: Surface colours (BGR): hashish browns, cocoa, khaki, and the grey-white of plastic wrap.
SURFACES = ((40, 60, 90), (30, 45, 70), (60, 90, 120), (50, 80, 100), (90, 130, 150),
            (20, 35, 55), (200, 200, 195), (170, 175, 180))


def _smooth_noise(shape: tuple[int, int], rng: Rng, scale: float) -> npt.NDArray[np.float32]:
    small = rng.standard_normal((max(2, int(shape[0] / scale)),
                                 max(2, int(shape[1] / scale)))).astype(np.float32)
    return np.asarray(cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC),
                      np.float32)


def surface(shape: tuple[int, int], rng: Rng) -> npt.NDArray[np.float32]:
    """A textured surface, float BGR 0..255: grain at several scales, cracks or film creases."""
    colour = np.array(SURFACES[int(rng.integers(0, len(SURFACES)))], np.float32)
    colour = colour * rng.uniform(0.85, 1.15, 3).astype(np.float32)
    # Grain relative to the colour: a dark resin has proportionally as much grain as a light one.
    tex = (_smooth_noise(shape, rng, 40) * 0.08 + _smooth_noise(shape, rng, 8) * 0.04
           + rng.standard_normal(shape).astype(np.float32) * 0.02)
    img = np.asarray(colour[None, None, :] * (1 + tex[:, :, None]), np.float32)
    plastic = colour.mean() > 150
    for _ in range(int(rng.integers(3, 12))):  # cracks in resin, creases in film
        p0 = rng.uniform(0, 1, 2) * (shape[1], shape[0])
        p1 = p0 + rng.normal(0, 80, 2)
        shade = 40.0 if plastic else -25.0
        cv2.line(img, (int(p0[0]), int(p0[1])), (int(p1[0]), int(p1[1])),
                 (colour + shade).tolist(), int(rng.integers(1, 3)), cv2.LINE_AA)
    return img


@dataclass(frozen=True)
class Ranges:
    """The distortions of :func:`distort` at full strength; ``strength`` shrinks each range.

    Setting one field to its neutral value (0, or 1 for ``scale`` and ``gamma``) switches that
    distortion off, which is how the evaluation measures the effect of each one alone.
    """

    rotation: float = 180.0  # degrees either way
    scale: float = 1.4  # relative size drawn in 2 - scale .. scale (0.6-1.4)
    perspective: float = 0.12  # corner displacement, share of the mark's side
    occlusion: float = 0.25  # share of the mark's area hidden, at most
    gamma: float = 1.6  # gamma in 1/gamma .. gamma
    exposure: float = 0.35  # gain in 1 - exposure .. 1 + exposure
    contrast: float = 0.35  # contrast around the mean in 1 - contrast .. 1 + contrast
    gradient: float = 0.5  # light falling off across the picture
    blur: float = 2.0  # Gaussian sigma, pixels of the output
    noise: float = 10.0  # sigma of additive noise, grey levels
    jpeg: float = 45.0  # JPEG quality 95 down to 95 - jpeg
    shift: float = 0.08  # displacement of the mark's centre, share of the photo

    def _scale(self, rng: Rng, v: float) -> float:
        """0.6-1.4 at scale=1.4: the low end is 1 - (scale - 1), not 1/scale, as specified."""
        span = (self.scale - 1.0) * v
        return float(rng.uniform(1.0 - span, 1.0 + span))


def distort(img: Image, rng: Rng, *, strength: float = 1.0, size: int = 512,
            pressed: bool | None = None, ranges: Ranges | None = None) -> Image:
    """A photograph of the mark ``img`` (black-on-white logo) on a seizure; BGR, ``size`` px.

    At ``strength=1`` with the default :class:`Ranges`: any rotation, scale 0.6-1.4 (1 = the
    mark's square spans 80 % of the photo, as when an officer fills the frame), perspective
    with corners moved up to 12 %, up to 25 % of the mark hidden (cut by the photo's edge or
    covered by a thumb or tape), exposure, contrast and gamma changes, uneven light, blur up to
    sigma 2, noise up to sigma 10 and JPEG quality down to 50. Each drawn uniformly in its
    range, so most photos are less hard than the extremes. ``pressed`` chooses a mark pressed
    into the product (relief) or printed on it; None draws one.
    """
    r = ranges or Ranges()
    v = float(np.clip(strength, 0.0, 1.0))
    ink = 1.0 - img.astype(np.float32) / 255.0
    s = img.shape[0]
    # Geometry: map the logo square into the photo, scaled, turned, slanted.
    scale = (size * 0.8 / s) * r._scale(rng, v)
    angle = rng.uniform(-r.rotation, r.rotation) * (1.0 if r.rotation >= 180 else v)
    centre = np.array([size / 2, size / 2]) + rng.uniform(-1, 1, 2) * r.shift * size * v
    src = np.array([[0, 0], [s, 0], [s, s], [0, s]], np.float32)
    dst = (src - s / 2) * scale
    dst = dst + rng.uniform(-1, 1, (4, 2)) * r.perspective * v * s * scale
    a = math.radians(angle)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    dst = (dst @ rot.T + centre).astype(np.float32)
    h = cv2.getPerspectiveTransform(src, dst)
    mask = np.asarray(cv2.warpPerspective(ink, h, (size, size), flags=cv2.INTER_LINEAR),
                      np.float32)
    # Occlusion: cover a part of the mark, or cut it with the edge of the photo.
    hidden = np.zeros((size, size), np.float32)
    if v >= 0.5 and r.occlusion > 0 and rng.random() < 0.8:  # mild photos show it all
        hidden = _occluder(mask, rng, r.occlusion * v)
    base = surface((size, size), rng)
    if pressed is None:
        pressed = bool(rng.random() < 0.5)
    if pressed:  # relief: the pressed bottom is darker (denser, oilier); its slopes catch light
        relief = cv2.GaussianBlur(mask, (0, 0), 2.0)
        gy, gx = np.gradient(relief)
        light = rng.uniform(0, 2 * np.pi)
        shade = (gx * math.cos(light) + gy * math.sin(light)) * 150.0
        photo = base * (1 - 0.5 * relief[:, :, None]) + shade[:, :, None]
    else:  # printed or branded with ink darker than the surface, in proportion to it
        dark = base * rng.uniform(0.15, 0.45, 3).astype(np.float32)
        photo = base * (1 - mask[:, :, None]) + dark * mask[:, :, None]
    cover = surface((size, size), rng) * rng.uniform(0.5, 1.5)
    photo = photo * (1 - hidden[:, :, None]) + cover * hidden[:, :, None]
    photo = _lighting(photo, rng, v, r)
    sigma = rng.uniform(0, r.blur * v)
    if sigma > 0.3:
        photo = cv2.GaussianBlur(photo, (0, 0), sigma)
    noise = rng.uniform(0, r.noise * v)
    photo = photo + rng.standard_normal(photo.shape).astype(np.float32) * noise
    out = np.clip(photo, 0, 255).astype(np.uint8)
    quality = int(95 - rng.uniform(0, r.jpeg * v))
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR), np.uint8) if ok else out


def _occluder(mask: npt.NDArray[np.float32], rng: Rng, limit: float) -> npt.NDArray[np.float32]:
    """A cover (tape strip, thumb, edge of the photo) over up to ``limit`` of the mark's area.

    The area is that of the convex hull of the ink, so thin outlines and bold fills are
    hidden alike.
    """
    size = mask.shape[0]
    ys, xs = np.nonzero(mask > 0.2)
    if len(xs) < 3:
        return np.zeros_like(mask)
    hull = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.stack([xs, ys], 1).astype(np.int32)), 1)
    hy, hx = np.nonzero(hull)
    target = rng.uniform(0.3, 1.0) * limit
    direction = rng.uniform(0, 2 * np.pi)
    proj = hx * math.cos(direction) + hy * math.sin(direction)
    cut = float(np.quantile(proj, 1 - target))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    side = (xx * math.cos(direction) + yy * math.sin(direction)) >= cut
    if rng.random() < 0.5:  # a round thumb or a blob rather than a straight edge
        pick = int(rng.choice(np.nonzero(proj >= cut)[0]))
        cx, cy = float(hx[pick]), float(hy[pick])
        r = float(np.quantile(np.hypot(hx - cx, hy - cy), target))
        side = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    return np.asarray(cv2.GaussianBlur(side.astype(np.float32), (0, 0), 1.5), np.float32)


def _lighting(photo: npt.NDArray[np.float32], rng: Rng, v: float,
              r: Ranges) -> npt.NDArray[np.float32]:
    """Exposure, contrast around the mean, gamma and a light gradient across the picture.

    Contrast is taken around the picture's mean, as a camera's auto-exposure would keep the
    subject inside the range; only the extremes clip.
    """
    size = photo.shape[0]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    a = rng.uniform(0, 2 * np.pi)
    gradient = 1 + rng.uniform(0, r.gradient * v) * (xx * math.cos(a) + yy * math.sin(a))
    photo = photo * gradient[:, :, None] * rng.uniform(1 - r.exposure * v, 1 + r.exposure * v)
    mean = float(photo.mean())
    photo = (photo - mean) * rng.uniform(1 - r.contrast * v, 1 + r.contrast * v) + mean
    gamma = float(np.exp(rng.uniform(-1, 1) * np.log(r.gamma) * v))
    return (255.0 * (np.clip(photo, 0, 255) / 255.0) ** gamma).astype(np.float32)


@dataclass(frozen=True)
class Dataset:
    """Gallery photos (one per class, ``gallery_classes[i]``) and distorted query photos."""

    gallery: list[Image]
    gallery_classes: list[int]
    queries: list[Image]
    query_classes: list[int]


def dataset(n_classes: int, n_queries_per_class: int, seed: int = 0, *,
            first_class: int = 0, query_strength: float = 1.0) -> Dataset:
    """One clean-ish photo per class for the gallery, and independent distorted queries.

    The gallery photo is itself a mild distortion (strength 0.25, any rotation) because
    stored marks are photographs too; the queries use ``query_strength``. Whether a class is
    pressed into the product or printed on it is a property of the class, as on real seizures.
    """
    gallery, gclasses, queries, qclasses = [], [], [], []
    for k in range(first_class, first_class + n_classes):
        logo = stamp(k, seed)
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, k, 0xD15])
        pressed = bool(rng.random() < 0.5)
        gallery.append(distort(logo, rng, strength=0.25, pressed=pressed))
        gclasses.append(k)
        for _ in range(n_queries_per_class):
            queries.append(distort(logo, rng, strength=query_strength, pressed=pressed))
            qclasses.append(k)
    return Dataset(gallery, gclasses, queries, qclasses)
