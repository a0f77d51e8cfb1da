"""Marks and logos on seized products: image intake, fingerprints, an index and its search.

The question answered is the one of INTERPOL's Relief database and the national hashish-stamp
collections: an officer photographs the stamp, logo or press mark on a brick, slab, tablet or
package and asks which earlier seizures carry the same mark.

How, and why this way:

1. **Intake** (:func:`load_image`) reads the header with Pillow and refuses oversized data,
   decompression bombs and absurd shapes *before* any pixel is decoded, because uploads come
   from the field and from other agencies.
2. **Stroke map.** Marks are pressed or printed strokes on a textured surface (resin, cocoa
   powder, plastic wrap) under any light. Features are taken not from the photo but from a map
   of "darker than the surroundings, by more than the texture varies" (:func:`stroke_map`),
   which removes uneven light, exposure, gamma and most of the surface grain. Without it, most
   keypoints sit on the texture and marks are not found again.
3. **Local features**: SIFT (rotation and scale invariant, patent-free since OpenCV 4.4), the
   256 strongest per stored mark and the 1024 strongest of a query picture (a small, blurred
   or half-hidden mark in a query needs its weaker features too; storing more would double
   the index's memory for little gain). They survive occlusion and cropping because any
   part of the mark that is still visible still matches.
4. **Global descriptor** for the shortlist: VLAD (residuals of the local descriptors to 64
   visual words, on descriptors reduced to 32 dimensions by PCA, power- and L2-normalised),
   2048 values stored as int8. It inherits the invariances of the local features; a whole-image
   hash does not survive rotation plus occlusion plus background. The vocabulary is learned,
   deterministically, from the synthetic marks of :mod:`marks_generate` at first use (a few
   seconds); its digest travels in every fingerprint, so a fingerprint made with another
   vocabulary has its global descriptor recomputed from its stored local features.
5. **Search** (:meth:`MarkIndex.search`): cosine similarity of the global descriptors against
   every stored mark in one vectorised pass (filtered by ``allowed`` before the cut), then
   geometric verification of the shortlist: ratio-test matches, a vote on the pose that each
   match implies (rotation, scale and place, as in Lowe's object recognition; matches of one
   mark agree on it), and a RANSAC similarity transform on each of the best-voted poses. The
   number of distinct inliers decides the ranking.

Limits: marks lighter than their surface (white print on dark film) are seen through their
outline only; the vocabulary is learned from synthetic marks and should be refitted on real
ones when a collection exists (:meth:`Vocabulary.fit`); the index keeps every local feature in
memory (about 43 kB per mark, 4.3 GB for 100,000 marks).
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from interdict.errors import FieldError, InvalidData

U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
_T = TypeVar("_T", bound=np.generic)

#: Formats accepted from uploads (Pillow's names).
FORMATS = frozenset({"PNG", "JPEG", "WEBP", "TIFF", "BMP", "MPO"})
#: Longest side of the picture the features are taken from.
WORK_SIZE = 512
#: Local features kept per mark.
MAX_FEATURES = 256
#: Fewer distinct geometric inliers than this and a candidate counts as not verified.
MIN_INLIERS = 6
#: Refuse pictures longer than this many times their width (strips, one-pixel lines).
MAX_ASPECT = 20.0
PCA_DIMS = 32
WORDS = 64
GLOBAL_DIMS = PCA_DIMS * WORDS
#: Local features taken from a query picture: more than are stored, so that a mark that is
#: small, blurred or half hidden in the query still shows enough of its own.
QUERY_FEATURES = 1024
RATIO = 0.9  # Lowe's ratio test, on RootSIFT distances (the pose vote removes what it admits)
RANSAC_PX = 8.0  # reprojection threshold, pixels of the WORK_SIZE picture
POSE_DEGREES = 20.0  # pose vote bins: rotation (degrees), scale (octaves: 1), place (pixels)
POSE_PX = 64.0
POSE_TRIES = 8  # best-voted poses fitted per candidate


class MarkImageError(InvalidData):
    """An uploaded mark picture was refused; ``errors`` says why, under the field "image"."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"image refused: {reason}", errors=[FieldError("image", reason)])


# --- intake -----------------------------------------------------------------------------------


def checksum(data: bytes) -> str:
    """SHA-256 of the uploaded bytes, hex: finds byte-identical re-uploads."""
    return hashlib.sha256(data).hexdigest()


def _open(data: bytes, max_bytes: int, max_pixels: int) -> Image.Image:
    """Open and fully decode ``data``, refusing anything unsafe before decoding pixels."""
    if not data:
        raise MarkImageError("empty upload")
    if len(data) > max_bytes:
        raise MarkImageError(f"too large: {len(data)} bytes, at most {max_bytes}")
    try:
        # Opening reads only the header; the pixel data is decoded by load() below.
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise MarkImageError(f"decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        raise MarkImageError(f"not an image (no known format; starts {data[:8]!r})") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise MarkImageError(f"unreadable image header: {exc}") from None
    if img.format not in FORMATS:
        raise MarkImageError(f"format {img.format} not accepted; use PNG, JPEG, WebP, TIFF "
                             "or BMP")
    width, height = img.size
    if width < 1 or height < 1:
        raise MarkImageError(f"empty picture ({width}x{height})")
    if width * height > max_pixels:
        raise MarkImageError(f"decompression bomb: header claims {width}x{height} = "
                             f"{width * height} pixels, at most {max_pixels}")
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise MarkImageError(f"absurd aspect ratio {width}x{height}")
    try:
        img.load()
    except Image.DecompressionBombError as exc:
        raise MarkImageError(f"decompression bomb: {exc}") from None
    except (OSError, ValueError, SyntaxError, struct.error, EOFError) as exc:
        raise MarkImageError(f"truncated or corrupt image data: {exc}") from None
    return img


def _flatten(img: Image.Image, mode: str) -> Image.Image:
    """``img`` as ``mode`` ("L" or "RGB"), transparency on white, deep greys stretched."""
    if img.mode in {"RGBA", "LA", "PA"} or (img.mode == "P" and "transparency" in img.info):
        # Transparent parts become white paper, not the black that dropping alpha gives.
        rgba = img.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(paper, rgba)
    if img.mode in {"I;16", "I;16B", "I;16L", "I", "F"}:
        # 16-bit and float pictures (some TIFFs) would saturate if simply cut to 8 bits.
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
        img = Image.fromarray(arr.astype(np.uint8), "L")
    return img if img.mode == mode else img.convert(mode)


def load_image(data: bytes, *, max_bytes: int = 20_000_000,
               max_pixels: int = 40_000_000) -> U8:
    """Decode an uploaded picture to 8-bit greyscale (H x W), or raise :class:`MarkImageError`.

    Refused: empty or over ``max_bytes``; not PNG, JPEG, WebP, TIFF or BMP; a header claiming
    more than ``max_pixels`` (checked before decoding, so a 100k x 100k bomb costs nothing);
    sides more than 20 times apart; truncated or corrupt data. Multi-page files give their
    first page. Colour is dropped: the stroke map that fingerprints use is greyscale.
    """
    img = _open(data, max_bytes, max_pixels)
    grey = np.asarray(_flatten(img, "L"), dtype=np.uint8)
    return np.ascontiguousarray(grey)


def thumbnail(data: bytes, size: int = 256, *, max_bytes: int = 20_000_000,
              max_pixels: int = 40_000_000) -> bytes:
    """A JPEG of at most ``size`` x ``size`` for display, upright by its EXIF orientation."""
    img = ImageOps.exif_transpose(_open(data, max_bytes, max_pixels))
    img = _flatten(img, "L" if img.mode in {"L", "I;16", "I;16B", "I;16L", "I", "F"}
                   else "RGB")
    img.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=85)
    return out.getvalue()


# --- stroke map and local features --------------------------------------------------------------


def _grey(image: npt.NDArray[np.uint8]) -> U8:
    if image.ndim == 3:  # OpenCV order, as the generator and cv2.imdecode give
        code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        return np.asarray(cv2.cvtColor(image, code), dtype=np.uint8)
    if image.ndim != 2:
        raise ValueError(f"expected a greyscale or BGR picture, got shape {image.shape}")
    return image


def stroke_map(image: npt.NDArray[np.uint8], size: int = WORK_SIZE) -> U8:
    """The picture at ``size`` px (longest side), as white paper with the mark's strokes dark.

    A pixel is ink by how much darker it is than its surroundings (Gaussian, sigma 15 px),
    in units of how much the whole picture varies that way (median absolute deviation), so
    exposure, gamma, light gradients and grain cancel out; a soft threshold at 2.5 such units
    keeps strokes and drops most grain.
    """
    grey = _grey(image)
    h, w = grey.shape
    f = size / max(h, w)
    if f != 1.0:
        interp = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
        grey = np.asarray(cv2.resize(grey, (max(1, round(w * f)), max(1, round(h * f))),
                                     interpolation=interp), np.uint8)
    x = cv2.GaussianBlur(grey.astype(np.float32), (0, 0), 1.0)
    darker = cv2.GaussianBlur(x, (0, 0), 15.0) - x
    med = float(np.median(darker))
    mad = float(np.median(np.abs(darker - med))) * 1.4826 + 1e-3
    z = (darker - med) / mad
    ink = 0.5 + 0.5 * np.tanh((z - 2.5) / 2.0)
    return np.asarray(255.0 * (1.0 - ink), dtype=np.uint8)


def _features(image: npt.NDArray[np.uint8], limit: int = MAX_FEATURES) -> tuple[F32, U8]:
    """Keypoints (x, y, angle in degrees, size) and SIFT descriptors, strongest first."""
    # A detector per call: creating one costs microseconds, sharing one across the threads
    # of a web server is not documented as safe.
    sift = cv2.SIFT.create(nfeatures=limit)
    keypoints, desc = sift.detectAndCompute(stroke_map(image), None)
    if desc is None or not keypoints:
        return np.zeros((0, 4), np.float32), np.zeros((0, 128), np.uint8)
    order = np.argsort([-k.response for k in keypoints], kind="stable")[:limit]
    kp = np.array([(keypoints[i].pt[0], keypoints[i].pt[1], keypoints[i].angle,
                    keypoints[i].size) for i in order], np.float32).reshape(-1, 4)
    # OpenCV's SIFT values are whole numbers in 0..255 (it saturates them to bytes itself).
    return kp, np.clip(np.round(desc[order]), 0, 255).astype(np.uint8)


def rootsift(desc: npt.NDArray[np.uint8]) -> F32:
    """Hellinger-normalised SIFT (L1, then square root): Euclidean distance works better."""
    d = desc.astype(np.float32)
    d /= d.sum(axis=-1, keepdims=True) + 1e-7
    return np.sqrt(d)


# --- vocabulary and global descriptor -----------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """PCA of RootSIFT and the visual words for VLAD; ``digest`` names it in fingerprints."""

    mean: F32  # (128,)
    basis: F32  # (128, PCA_DIMS)
    centres: F32  # (WORDS, PCA_DIMS)

    @property
    def digest(self) -> bytes:
        h = hashlib.sha256()
        for a in (self.mean, self.basis, self.centres):
            h.update(np.round(a, 3).astype(np.float32).tobytes())
        return h.digest()[:8]

    @classmethod
    def fit(cls, descriptors: npt.NDArray[np.uint8], *, seed: int = 0) -> Vocabulary:
        """Learn from raw SIFT descriptors (n x 128, n >= a few thousand), deterministically."""
        x = rootsift(descriptors).astype(np.float64)
        mean = x.mean(axis=0)
        _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
        basis = vt[:PCA_DIMS].T
        # SVD signs are arbitrary; fix them so every machine gets the same basis.
        basis *= np.sign(basis[np.argmax(np.abs(basis), axis=0), np.arange(PCA_DIMS)])
        reduced = (x - mean) @ basis
        centres = _kmeans(reduced, WORDS, np.random.default_rng(seed))
        return cls(mean.astype(np.float32), basis.astype(np.float32),
                   centres.astype(np.float32))

    def vlad(self, desc: npt.NDArray[np.uint8]) -> F32:
        """VLAD of one mark's descriptors: intra-, power- and L2-normalised, GLOBAL_DIMS long."""
        out = np.zeros(GLOBAL_DIMS, np.float32)
        if len(desc) == 0:
            return out
        x = (rootsift(desc) - self.mean) @ self.basis
        word = np.argmin(_sq_dist(x, self.centres), axis=1)
        v = np.zeros((WORDS, PCA_DIMS), np.float32)
        np.add.at(v, word, x - self.centres[word])
        # Intra-normalisation: a word hit by many similar strokes (bursts) counts once.
        v /= np.linalg.norm(v, axis=1, keepdims=True) + 1e-7
        flat = v.ravel()
        flat = np.sign(flat) * np.sqrt(np.abs(flat))
        norm = float(np.linalg.norm(flat))
        return np.asarray(flat / norm if norm > 0 else out, np.float32)


def _sq_dist(x: npt.NDArray[np.floating], c: npt.NDArray[np.floating]) -> F32:
    d = (x * x).sum(1)[:, None] - 2.0 * x @ c.T + (c * c).sum(1)[None, :]
    return np.asarray(d, np.float32)


def _kmeans(x: npt.NDArray[np.float64], k: int, rng: np.random.Generator,
            iters: int = 30) -> npt.NDArray[np.float64]:
    """Lloyd's k-means with k-means++ seeding; an emptied word restarts at the worst point."""
    centres = [x[int(rng.integers(len(x)))]]
    d2 = ((x - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        centres.append(x[int(rng.choice(len(x), p=d2 / d2.sum()))])
        d2 = np.minimum(d2, ((x - centres[-1]) ** 2).sum(1))
    c = np.array(centres)
    for _ in range(iters):
        dist = _sq_dist(x, c)
        word = np.argmin(dist, axis=1)
        new = np.zeros_like(c)
        np.add.at(new, word, x)
        count = np.bincount(word, minlength=k)
        own = dist[np.arange(len(x)), word]
        for j in np.nonzero(count == 0)[0]:
            far = int(np.argmax(own))
            new[j], count[j], own[far] = x[far], 1, -1.0
        new /= count[:, None]
        if np.allclose(new, c, atol=1e-6):
            break
        c = new
    return c


#: Photos the default vocabulary is learned from: synthetic classes far from any evaluation's.
VOCABULARY_CLASSES = range(1_000_000, 1_000_024)


@lru_cache(maxsize=1)
def default_vocabulary() -> Vocabulary:
    """Learned once per process from moderately distorted synthetic marks (a few seconds)."""
    # Imported here: only this function needs the generator, and only once.
    from interdict.seizures.marks_generate import distort, stamp

    descs = []
    for k in VOCABULARY_CLASSES:
        photo = distort(stamp(k, seed=0), np.random.default_rng(k), strength=0.5)
        descs.append(_features(photo)[1])
    return Vocabulary.fit(np.concatenate(descs), seed=0)


# --- fingerprint --------------------------------------------------------------------------------

_MAGIC = b"IMK1"
_HEADER = struct.Struct("<4sBHHH8sH")  # magic, version, n, width, height, vocabulary, dims
_VERSION = 1
_XY_SCALE = 32.0  # keypoint positions to 1/32 px, in uint16
_SIZE_SCALE = 32.0  # keypoint sizes as log2 in 1/32 steps, in uint8


@dataclass(frozen=True, eq=False)
class MarkFingerprint:
    """What is kept of one mark picture: local features and the global descriptor.

    ``keypoints`` are (x, y, angle in degrees, size), in pixels of the picture scaled to
    ``WORK_SIZE`` (``width`` x ``height``); ``descriptors`` the SIFT bytes; ``vector`` the VLAD
    as int8 (cosine is scale-free, so no scale is kept); ``vocabulary`` the digest of the
    vocabulary that made ``vector``. Values are already at their stored precision, so
    ``from_bytes(fp.to_bytes())`` gives back exactly ``fp``.
    """

    keypoints: F32
    descriptors: U8
    vector: npt.NDArray[np.int8]
    vocabulary: bytes
    width: int
    height: int

    def __len__(self) -> int:
        return len(self.keypoints)

    def to_bytes(self) -> bytes:
        """Compact form for a database column: about 30 kB for a mark with 256 features."""
        n = len(self.keypoints)
        kp = self.keypoints
        xy = np.round(kp[:, :2] * _XY_SCALE).astype("<u2")
        angle = (np.round(kp[:, 2] * 256.0 / 360.0).astype(np.int64) % 256).astype(np.uint8)
        size = np.round(np.log2(np.maximum(kp[:, 3], 1.0)) * _SIZE_SCALE).astype(np.uint8)
        body = b"".join([xy.tobytes(), angle.tobytes(), size.tobytes(),
                         self.descriptors.tobytes(), self.vector.astype(np.int8).tobytes()])
        head = _HEADER.pack(_MAGIC, _VERSION, n, self.width, self.height, self.vocabulary,
                            len(self.vector))
        return head + zlib.compress(body, 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> MarkFingerprint:
        """Inverse of :meth:`to_bytes`; ``ValueError`` for anything else."""
        if len(data) < _HEADER.size:
            raise ValueError("mark fingerprint: too short")
        magic, version, n, width, height, vocabulary, dims = _HEADER.unpack_from(data)
        if magic != _MAGIC or version != _VERSION:
            raise ValueError("mark fingerprint: unknown format or version")
        expected = n * (4 + 1 + 1 + 128) + dims
        inflater = zlib.decompressobj()
        try:
            body = inflater.decompress(data[_HEADER.size:], expected + 1)
        except zlib.error as exc:
            raise ValueError(f"mark fingerprint: corrupt ({exc})") from None
        if len(body) != expected or n > MAX_FEATURES * 4:
            raise ValueError("mark fingerprint: length does not match its header")
        at = 0

        def take(count: int, dtype: str) -> npt.NDArray[np.generic]:
            nonlocal at
            width_bytes = np.dtype(dtype).itemsize * count
            arr = np.frombuffer(body, dtype=dtype, count=count, offset=at)
            at += width_bytes
            return arr

        xy = take(2 * n, "<u2").reshape(n, 2).astype(np.float32) / _XY_SCALE
        angle = take(n, "u1").astype(np.float32) * (360.0 / 256.0)
        size = np.exp2(take(n, "u1").astype(np.float32) / _SIZE_SCALE)
        desc = take(128 * n, "u1").reshape(n, 128).copy()
        vector = take(dims, "i1").copy()
        kp = np.concatenate([xy, angle[:, None], size[:, None]], axis=1).astype(np.float32)
        return cls(kp, desc.astype(np.uint8), vector.astype(np.int8), vocabulary, width,
                   height)


def _quantise_keypoints(kp: F32) -> F32:
    """Round to the stored precision (see :meth:`MarkFingerprint.to_bytes`)."""
    out = kp.copy()
    out[:, :2] = np.round(out[:, :2] * _XY_SCALE) / _XY_SCALE
    out[:, 2] = (np.round(out[:, 2] * 256.0 / 360.0) % 256) * (360.0 / 256.0)
    out[:, 3] = np.exp2(np.round(np.log2(np.maximum(out[:, 3], 1.0)) * _SIZE_SCALE)
                        / _SIZE_SCALE)
    return out


def _quantise_vector(v: F32) -> npt.NDArray[np.int8]:
    peak = float(np.abs(v).max()) if len(v) else 0.0
    if peak == 0.0:
        return np.zeros(len(v), np.int8)
    return np.clip(np.round(v * (127.0 / peak)), -127, 127).astype(np.int8)


def _unit(vector: npt.NDArray[np.int8]) -> F32:
    v = vector.astype(np.float32)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def fingerprint(image: npt.NDArray[np.uint8], *, vocabulary: Vocabulary | None = None,
                features: int = MAX_FEATURES) -> MarkFingerprint:
    """Fingerprint of a mark picture (greyscale, or BGR as OpenCV gives it), any size.

    ``features`` caps the local features; stored marks keep at most ``MAX_FEATURES`` (the
    index cuts the rest), but a query may carry more to find hard marks again. The global
    descriptor comes from the ``MAX_FEATURES`` strongest, as a stored mark's (like with like).
    """
    grey = _grey(image)
    if grey.size == 0:
        raise ValueError("empty picture")
    kp, desc = _features(grey, features)
    voc = vocabulary or default_vocabulary()
    h, w = grey.shape
    f = WORK_SIZE / max(h, w)
    vector = _quantise_vector(voc.vlad(desc[:MAX_FEATURES]))
    return MarkFingerprint(_quantise_keypoints(kp), desc, vector,
                           voc.digest, max(1, round(w * f)), max(1, round(h * f)))


# --- verification -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """One stored mark found for a query.

    ``score`` in 0..1, higher is more similar, in the order of the results: above 0.5 when at
    least ``MIN_INLIERS`` distinct points fit one geometric transform (``stage ==
    "verified"``), growing with ``inliers``; below 0.5 otherwise (``stage == "global"``), from
    the few inliers there are and the global similarity. Verified means "a part of the picture
    is the same design": marks sharing a frame or a brand word in the same type also verify,
    with fewer inliers than the mark itself. ``hash_distance`` is the distance of the global
    descriptors, 1 - cosine (0 = same picture, about 1 = unrelated).
    """

    id: int
    score: float
    inliers: int
    hash_distance: float
    stage: str


def _tentative(query: F32, cands: F32, counts: npt.NDArray[np.int64]
               ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Ratio-test matches of each query descriptor in each candidate, all in one product.

    ``query`` (n, 128) and ``cands`` (C, m, 128) are RootSIFT; rows past ``counts[c]`` are
    padding. Returns ``ok`` (C, n) and the matched candidate row (C, n).
    """
    c, m, _ = cands.shape
    # (C, n, m): each query row's similarities to one candidate lie contiguous in memory,
    # which makes the two reductions below several times faster than along a middle axis.
    sim = np.matmul(query[None], cands.transpose(0, 2, 1))
    np.copyto(sim, np.float32(-1.0), where=np.arange(m)[None, None, :] >= counts[:, None, None])
    best = sim.argmax(axis=2)  # (C, n)
    s1 = np.take_along_axis(sim, best[:, :, None], axis=2)[:, :, 0]
    np.put_along_axis(sim, best[:, :, None], -1.0, axis=2)
    s2 = sim.max(axis=2)
    d1 = np.sqrt(np.maximum(2.0 - 2.0 * s1, 0.0))
    d2 = np.sqrt(np.maximum(2.0 - 2.0 * s2, 0.0))
    return (d1 < RATIO * d2) & (s1 > 0), best


_CORNERS = np.array([[(corner >> j) & 1 for j in range(4)] for corner in range(16)], np.int64)


def _pose_votes(qk: F32, gk: F32, centre: tuple[float, float]
                ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """Each match's vote for a pose of the query in the candidate, as bin keys (Lowe 2004).

    A SIFT match implies a similarity transform: rotation (difference of the keypoint angles),
    scale (ratio of sizes) and so where the query's ``centre`` lands in the candidate. Matches
    on the right mark agree on all four; chance matches on texture, occluders or a shared
    frame scatter. Each match votes for the two nearest bins on every axis (16 bins), so a
    cluster on a bin edge is not split. Returns the keys and the match that cast each.
    """
    turn = np.mod(gk[:, 2] - qk[:, 2], 360.0)
    scale = gk[:, 3] / qk[:, 3]
    a = np.radians(turn)
    dx, dy = centre[0] - qk[:, 0], centre[1] - qk[:, 1]
    px = gk[:, 0] + scale * (np.cos(a) * dx - np.sin(a) * dy)
    py = gk[:, 1] + scale * (np.sin(a) * dx + np.cos(a) * dy)
    pos = np.stack([turn / POSE_DEGREES, np.log2(scale), px / POSE_PX, py / POSE_PX], axis=1)
    base = np.floor(pos - 0.5).astype(np.int64)
    turns = round(360.0 / POSE_DEGREES)
    b = base[None, :, :] + _CORNERS[:, None, :]  # (16, n, 4): the two nearest bins per axis
    b[:, :, 0] %= turns
    b[:, :, 1:] = np.clip(b[:, :, 1:] + 2048, 0, 4095)  # places far outside any picture clip
    keys = ((b[:, :, 0] * 4096 + b[:, :, 1]) * 4096 + b[:, :, 2]) * 4096 + b[:, :, 3]
    return keys.ravel(), np.tile(np.arange(len(qk)), 16)


def _places(xy: F32) -> int:  # distinct places among points, on a 3 px grid
    cell = np.round(xy / 3.0).astype(np.int64)
    return len(np.unique(cell[:, 0] * 65_536 + cell[:, 1]))


def _inliers(qk: F32, gk: F32, centre: tuple[float, float] = (WORK_SIZE / 2, WORK_SIZE / 2)
             ) -> int:
    """Distinct points supporting one similarity transform from query to candidate.

    The best-voted poses (:func:`_pose_votes`) are each fitted with RANSAC and the best fit
    counts: a false pose (matches on a frame shared with another mark) may outvote the true.
    """
    if len(qk) < 3:
        return 0
    keys, owners = _pose_votes(qk, gk, centre)
    _, where, votes = np.unique(keys, return_inverse=True, return_counts=True)
    best, tried = 0, 0
    for b in np.argsort(-votes, kind="stable"):
        if votes[b] < 3 or votes[b] <= best or tried == POSE_TRIES:
            break
        tried += 1
        sel = owners[where == b]
        src, dst = qk[sel, :2], gk[sel, :2]
        model, mask = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC,
                                                  ransacReprojThreshold=RANSAC_PX)
        if model is None or mask is None:
            continue
        scale = float(np.sqrt(abs(np.linalg.det(model[:, :2]))))
        if not 0.2 < scale < 5.0:
            continue
        inl = mask.ravel().astype(bool)
        # Distinct places on both sides: SIFT puts several keypoints on one spot.
        best = max(best, min(_places(src[inl]), _places(dst[inl])))
    return best


def verify(query: MarkFingerprint, other: MarkFingerprint) -> int:
    """Geometric inliers between two fingerprints (0 when they do not show the same mark)."""
    if len(query) < 3 or len(other) < 3:
        return 0
    ok, best = _tentative(rootsift(query.descriptors), rootsift(other.descriptors)[None],
                          np.array([len(other)]))
    qi = np.nonzero(ok[0])[0]
    if len(qi) < 3:
        return 0
    return _inliers(query.keypoints[qi], other.keypoints[best[0, qi]],
                    (query.width / 2, query.height / 2))


def _rank_key(inliers: int, similarity: float) -> tuple[float, float]:
    return (-float(inliers), -similarity)  # more inliers first, then global similarity


def _score(inliers: int, similarity: float) -> tuple[float, str]:
    """Score in 0..1 that follows the ranking of :func:`_rank_key`, and the stage.

    ``inliers + similarity`` (similarity clipped to 0..1) orders exactly as the key does, so
    the score is that sum squashed: into 0.5..1 for verified marks, into 0..0.5 below.
    """
    evidence = inliers + max(0.0, min(1.0, similarity))
    if inliers >= MIN_INLIERS:
        return 0.5 + 0.5 * evidence / (evidence + 10.0), "verified"
    return 0.5 * evidence / (MIN_INLIERS + 1.0), "global"


# --- index --------------------------------------------------------------------------------------
Allowed = Callable[[int], bool] | set[int] | frozenset[int] | None
_VERIFY_FLOATS = 3_300_000  # similarities computed per matrix product (~13 MB)


class MarkIndex:
    """Fingerprints of stored marks by integer id, searchable by a query fingerprint.

    Everything lives in preallocated numpy arrays (grown by doubling; removal moves the last
    row into the hole), so the shortlist is one product with a contiguous float32 matrix and the
    index can be saved and rebuilt as a handful of arrays (:meth:`to_arrays`,
    :meth:`from_arrays`). Searches may run in parallel; :meth:`add` and :meth:`remove` need
    the caller's lock, as they move rows that a search may be reading.
    """

    def __init__(self, vocabulary: Vocabulary | None = None, capacity: int = 1024) -> None:
        self.vocabulary = vocabulary or default_vocabulary()
        self._digest = self.vocabulary.digest
        self._n = 0
        self._row: dict[int, int] = {}
        cap = max(1, capacity)
        self._ids = np.zeros(cap, np.int64)
        self._vectors = np.zeros((cap, GLOBAL_DIMS), np.float32)
        self._counts = np.zeros(cap, np.int16)
        self._keypoints = np.zeros((cap, MAX_FEATURES, 4), np.float32)
        self._descriptors = np.zeros((cap, MAX_FEATURES, 128), np.uint8)

    def _columns(self) -> tuple[npt.NDArray[np.generic], ...]:
        return (self._ids, self._vectors, self._counts, self._keypoints, self._descriptors)

    def _alloc(self, capacity: int) -> None:
        n = self._n

        def grow(arr: npt.NDArray[_T]) -> npt.NDArray[_T]:
            new = np.zeros((capacity, *arr.shape[1:]), arr.dtype)
            new[:n] = arr[:n]
            return new

        self._ids, self._vectors = grow(self._ids), grow(self._vectors)
        self._counts, self._keypoints, self._descriptors = grow(self._counts), \
            grow(self._keypoints), grow(self._descriptors)

    def __len__(self) -> int:
        return self._n

    def __contains__(self, mark_id: object) -> bool:
        return mark_id in self._row

    def ids(self) -> list[int]:
        return [int(i) for i in self._ids[: self._n]]

    def reserve(self, capacity: int) -> None:
        """Make room for ``capacity`` marks at once (avoids repeated growth when rebuilding)."""
        if capacity > len(self._ids):
            self._alloc(capacity)

    def add(self, mark_id: int, fp: MarkFingerprint) -> None:
        """Store (or replace) the fingerprint of mark ``mark_id``."""
        vector = self._unit_vector(fp)
        row = self._row.get(mark_id)
        if row is None:
            if self._n == len(self._ids):
                self._alloc(2 * len(self._ids))
            row = self._n
            self._n += 1
            self._row[mark_id] = row
        n = min(len(fp), MAX_FEATURES)
        self._ids[row] = mark_id
        self._vectors[row] = vector
        self._counts[row] = n
        self._keypoints[row, :n] = fp.keypoints[:n]
        self._descriptors[row, :n] = fp.descriptors[:n]
        self._keypoints[row, n:] = 0
        self._descriptors[row, n:] = 0

    def remove(self, mark_id: int) -> bool:
        """Forget mark ``mark_id``; False if it was not there."""
        row = self._row.pop(mark_id, None)
        if row is None:
            return False
        last = self._n - 1
        if row != last:
            for arr in self._columns():
                arr[row] = arr[last]
            self._row[int(self._ids[row])] = row
        self._n = last
        return True

    # --- persistence ---

    def to_arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        """The index as arrays (views, trimmed to the stored marks), e.g. for ``np.savez``."""
        n = self._n
        return {"ids": self._ids[:n], "vectors": self._vectors[:n], "counts": self._counts[:n],
                "keypoints": self._keypoints[:n], "descriptors": self._descriptors[:n],
                "vocabulary": np.frombuffer(self._digest, np.uint8)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, npt.NDArray[np.generic]], *,
                    vocabulary: Vocabulary | None = None) -> MarkIndex:
        """Rebuild from :meth:`to_arrays`; vectors are recomputed if the vocabulary differs."""
        index = cls(vocabulary, capacity=max(1, len(arrays["ids"])))
        n = len(arrays["ids"])
        index._ids[:n] = arrays["ids"]
        index._counts[:n] = arrays["counts"]
        index._keypoints[:n] = arrays["keypoints"]
        index._descriptors[:n] = arrays["descriptors"]
        index._n = n
        index._row = {int(i): r for r, i in enumerate(index._ids[:n])}
        if len(index._row) != n:
            raise ValueError("mark index: duplicate ids")
        if bytes(np.asarray(arrays["vocabulary"], np.uint8)) == index._digest:
            index._vectors[:n] = arrays["vectors"]
        else:
            for r in range(n):
                desc = index._descriptors[r, : index._counts[r]]
                index._vectors[r] = _unit(_quantise_vector(index.vocabulary.vlad(desc)))
        return index

    @classmethod
    def from_fingerprints(cls, items: Iterable[tuple[int, MarkFingerprint | bytes]], *,
                          vocabulary: Vocabulary | None = None) -> MarkIndex:
        """Build from (id, fingerprint or its bytes) pairs, as read from the database."""
        pairs = list(items)
        index = cls(vocabulary, capacity=max(1, len(pairs)))
        for mark_id, fp in pairs:
            index.add(int(mark_id), fp if isinstance(fp, MarkFingerprint)
                      else MarkFingerprint.from_bytes(fp))
        return index

    # --- search ---

    def _unit_vector(self, fp: MarkFingerprint) -> F32:
        vector = fp.vector
        if fp.vocabulary != self._digest or len(vector) != GLOBAL_DIMS:
            # Made with another vocabulary: the stored local features give the vector again.
            vector = _quantise_vector(self.vocabulary.vlad(fp.descriptors[:MAX_FEATURES]))
        return _unit(vector)

    def similarities(self, fp: MarkFingerprint) -> F32:
        """Cosine similarity of ``fp``'s global descriptor to every stored mark (row order).

        One matrix-vector product over float32 unit vectors: int8 would take a quarter of the
        memory, but numpy has no fast int8 product and converting costs ten times the product.
        """
        return np.asarray(self._vectors[: self._n] @ self._unit_vector(fp), np.float32)

    def _mask(self, allowed: Allowed) -> npt.NDArray[np.bool_] | None:
        if allowed is None:
            return None
        ids = self._ids[: self._n]
        if isinstance(allowed, (set, frozenset)):
            return np.isin(ids, np.fromiter(allowed, np.int64, len(allowed)))
        return np.fromiter((bool(allowed(int(i))) for i in ids), bool, self._n)

    def search(self, fp: MarkFingerprint, *, top: int = 10, shortlist: int = 200,
               allowed: Allowed = None) -> list[Match]:
        """The ``top`` stored marks most like ``fp``, best first.

        Stage 1 ranks every stored mark that ``allowed`` admits by global similarity and keeps
        ``shortlist`` of them; stage 2 verifies their geometry. Results are ordered by inliers,
        then global similarity (so verified marks come first). ``allowed`` (a set of
        ids or a predicate) is applied before any cut, so marks a user may not see never take
        the place of ones they may.
        """
        if self._n == 0 or top <= 0:
            return []
        sims = self.similarities(fp)
        mask = self._mask(allowed)
        if mask is not None:
            sims = np.where(mask, sims, -np.inf).astype(np.float32)
        admitted = int(np.isfinite(sims).sum())
        k = min(max(shortlist, top), admitted)
        if k == 0:
            return []
        cand = np.argpartition(-sims, k - 1)[:k] if k < self._n else np.arange(self._n)
        cand = cand[np.isfinite(sims[cand])]
        inliers = self._verify(fp, cand)
        order = sorted(range(len(cand)), key=lambda j: _rank_key(inliers[j],
                                                                 float(sims[cand[j]])))
        out = []
        for j in order[:top]:
            sim = float(sims[cand[j]])
            score, stage = _score(int(inliers[j]), sim)
            out.append(Match(int(self._ids[cand[j]]), round(score, 4), int(inliers[j]),
                             round(1.0 - sim, 4), stage))
        return out

    def _verify(self, fp: MarkFingerprint, rows: npt.NDArray[np.intp]) -> list[int]:
        """Inliers of ``fp`` against the stored marks at ``rows``."""
        result = [0] * len(rows)
        if len(fp) < 3:
            return result
        query = rootsift(fp.descriptors)
        # Similarities of one block take block x MAX_FEATURES x len(fp) floats: keep ~13 MB.
        step = max(1, _VERIFY_FLOATS // (MAX_FEATURES * len(fp)))
        centre = fp.width / 2.0, fp.height / 2.0
        for start in range(0, len(rows), step):
            block = rows[start:start + step]
            counts = self._counts[block].astype(np.int64)
            ok, best = _tentative(query, rootsift(self._descriptors[block]), counts)
            for j in range(len(block)):
                qi = np.nonzero(ok[j])[0]
                if len(qi) >= 3:
                    result[start + j] = _inliers(fp.keypoints[qi],
                                                 self._keypoints[block[j], best[j, qi]], centre)
        return result
