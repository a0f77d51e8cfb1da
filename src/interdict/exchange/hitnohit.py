"""Hit/no-hit matching of identifiers between agencies by an oblivious pseudorandom function.

An agency (the *querier*) asks whether a partner (the *holder*) holds some identifiers. The
answer may say "hit, reference R" for the identifiers asked about and nothing else: not the
holder's other values, not which of the querier's identifiers were asked, and a guess must
never be testable without the holder seeing it. The construction is the 2HashDH oblivious
PRF (Jarecki, Kiayias, Krawczyk; the one RFC 9497 standardises) used for private set
intersection, in the prime-order subgroup of edwards25519 through libsodium:

- The holder has a secret scalar ``k`` (``HolderKey``) that never leaves it. For every held
  identifier ``x`` (kind and canonical value, see ``identifiers.normalise``) it computes
  ``F(x) = k·H1(x)`` and publishes the *table*: ``tag(x) = H2(x, F(x))`` (16 bytes) mapped to
  the references it holds for ``x``, sealed with ``SecretBox`` under ``H3(x, F(x))``
  (``holder_table``: one scalar multiplication per distinct identifier, done once when the
  holdings are registered).
- The querier blinds each identifier it asks about with a fresh random scalar ``r``:
  ``B = r·H1(q)`` (``blind``), and sends only the points ``B``.
- The holder returns ``k·B`` for each point (``evaluate``): the one online step, which the
  caller counts, logs and rate-limits per querier.
- The querier unblinds ``r⁻¹·k·B = k·H1(q) = F(q)``, computes ``tag(q)``, looks it up in the
  holder's table and opens the sealed references of the tags found (``finish``).

What each side learns:

(a) The holder learns how many points were sent and nothing else: ``r·H1(q)`` with a fresh
    uniform ``r`` is a uniformly random group element, so the same identifier sent twice
    gives unrelated points, and the kind is hidden too (it is hashed into ``H1``). The
    holder never sees which tags the querier looked up, so it learns neither the hits nor
    the misses.
(b) The querier learns, for each identifier it asked about, whether the holder holds it and
    the holder's references for it. The other entries of the table are pseudorandom tags
    and ciphertexts under keys derived from ``F(x)``; without ``k`` they cannot be linked to
    any value. The table does reveal how many distinct identifiers the holder has; the
    length of each sealed entry is padded to 64-byte steps so that it says little about
    how many references stand behind one identifier.
(c) No offline dictionary attack, on either side of the table: a tag depends on ``k``, which
    never leaves the holder, so every guess a querier wants to test costs one evaluation by
    the holder, which is where it is logged and rate-limited. This is the difference from
    keyed one-way filters with a key shared among participants (Ma3tch-style, the baseline
    in ``benchmarks/exchange_hitnohit.py``): anyone holding that key can hash a list of
    every phone number in a country offline and read the whole filter.
(d) A hit reveals the references for that identifier only: each sealed entry opens only with
    ``F(x)`` of its own identifier, i.e. after evaluating exactly that identifier.

Why the querier, not the holder, does the lookup: if the querier sent its tags to the
holder, the holder, knowing ``k``, could compute ``tag(guess)`` offline for any guess and
recognise the querier's misses as well as its hits; sending only short tag prefixes would
still let the holder confirm a guess with high probability. Sending the table costs
bandwidth (120 bytes per held identifier with short references) but keeps (a) exact.

Points: PyNaCl does not expose ristretto255, so the group is the prime-order subgroup of
edwards25519 with libsodium's own checks, which gives the same guarantees for this use:
``H1`` maps a 64-byte BLAKE2b hash to two field elements, maps each with Elligator 2 into
the subgroup (``crypto_core_ed25519_from_uniform`` clears the cofactor) and adds them, the
random-oracle construction of RFC 9380; every point received from the other side is
checked with ``crypto_core_ed25519_is_valid_point`` (canonical encoding, on the curve, in
the prime-order subgroup, not of small order) before it is used, so an invalid or
small-subgroup point cannot extract bits of ``k``. Scalars are multiplied without clamping
(``_noclamp``) because blinding needs exact inverses modulo the group order.

Not covered here (caller's or later work): proof that the holder used its committed key
(a verifiable OPRF with a DLEQ proof would add it), rotation of ``k`` (a new key makes a
new table; old tables stop matching), and transport (``pack_points``/``unpack_points``
give the bytes to put into a signed envelope).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from nacl import bindings as sodium
from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

from interdict.errors import FieldError, InvalidData
from interdict.exchange.identifiers import KINDS

#: Name of this construction in messages between instances; a change to hashing, tagging,
#: sealing or identifier normalisation is a new protocol (old tables no longer match).
PROTOCOL = "interdict-hitnohit-1"
POINT_BYTES = 32
SCALAR_BYTES = 32
TAG_BYTES = 16
#: Most points one ``evaluate`` call accepts. The rate limit per querier is the caller's;
#: this only bounds the work a single request can cause.
MAX_POINTS = 100_000
#: Sealed reference lists are padded to multiples of this, so that their length says little
#: about how many references an identifier has.
SEAL_BLOCK = 64
_MAX_ERRORS = 20
#: Holdings per thread task in ``holder_table``: large enough that the pool's overhead
#: vanishes, small enough that the threads finish together.
_CHUNK = 1_000

# BLAKE2b personalisation strings keep the three hashes independent of each other (and of
# any other use of BLAKE2b in the platform); they carry the protocol version.
_H1 = b"interdict-h2g-1"
_H2 = b"interdict-tag-1"
_H3 = b"interdict-box-1"


def _encode(kind: str, value: str) -> bytes:
    """Length-prefixed kind and value, so that no two (kind, value) pairs share an input."""
    k, v = kind.encode(), value.encode()
    return len(k).to_bytes(4, "big") + k + len(v).to_bytes(4, "big") + v


def hash_to_group(kind: str, value: str) -> bytes:
    """H1: the identifier as a point of the prime-order group, with no known discrete log."""
    digest = hashlib.blake2b(_encode(kind, value), digest_size=64, person=_H1).digest()
    return sodium.crypto_core_ed25519_add(
        sodium.crypto_core_ed25519_from_uniform(digest[:32]),
        sodium.crypto_core_ed25519_from_uniform(digest[32:]))


def _tag(encoded: bytes, point: bytes) -> bytes:
    return hashlib.blake2b(encoded + point, digest_size=TAG_BYTES, person=_H2).digest()


def _box(encoded: bytes, point: bytes) -> SecretBox:
    return SecretBox(hashlib.blake2b(encoded + point, digest_size=32, person=_H3).digest())


def _random_scalars(count: int) -> list[bytes]:
    """Uniform non-zero scalars: 64 random bytes reduced modulo the group order each."""
    pool = os.urandom(64 * count)
    scalars = [sodium.crypto_core_ed25519_scalar_reduce(pool[64 * i:64 * i + 64])
               for i in range(count)]
    # Zero has probability 2^-252; replacing it keeps the inverse defined.
    return [s if any(s) else _random_scalars(1)[0] for s in scalars]


def _invert_all(scalars: Sequence[bytes]) -> list[bytes]:
    """Inverses modulo the group order by Montgomery's trick: one inversion for the batch.

    An inversion costs about ten scalar products (30 µs against 3 µs), so a query of 10,000
    identifiers saves about a quarter of a second at the querier.
    """
    if not scalars:
        return []
    prefix = [scalars[0]]
    for s in scalars[1:]:
        prefix.append(sodium.crypto_core_ed25519_scalar_mul(prefix[-1], s))
    inverse = sodium.crypto_core_ed25519_scalar_invert(prefix[-1])
    out = [b""] * len(scalars)
    for i in range(len(scalars) - 1, 0, -1):
        out[i] = sodium.crypto_core_ed25519_scalar_mul(inverse, prefix[i - 1])
        inverse = sodium.crypto_core_ed25519_scalar_mul(inverse, scalars[i])
    out[0] = inverse
    return out


def _is_point(point: object) -> bool:
    return (isinstance(point, bytes) and len(point) == POINT_BYTES
            and bool(sodium.crypto_core_ed25519_is_valid_point(point)))


def _check_points(points: Sequence[bytes], name: str) -> None:
    bad = [i for i, p in enumerate(points) if not _is_point(p)]
    if bad:
        raise InvalidData(
            f"{len(bad)} of {len(points)} {name} are not valid group elements",
            errors=[FieldError(f"{name}[{i}]", "not a point of the prime-order group "
                                              "(encoding, curve or subgroup check failed)")
                    for i in bad[:_MAX_ERRORS]])


def _check_item(kind: str, value: str, where: str) -> None:
    if kind not in KINDS:
        raise InvalidData(f"{where}: unknown identifier kind", errors=[
            FieldError(f"{where}.kind", f"not one of {', '.join(KINDS)}")])
    if not isinstance(value, str) or not value:
        raise InvalidData(f"{where}: empty identifier", errors=[
            FieldError(f"{where}.value", "empty (normalise identifiers first)")])


# -- holder -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class HolderKey:
    """A holder's OPRF key: the scalar ``k``. Never sent, never logged (kept out of repr)."""

    scalar: bytes = field(repr=False)

    def __post_init__(self) -> None:
        s = self.scalar
        if (not isinstance(s, bytes) or len(s) != SCALAR_BYTES or not any(s)
                or sodium.crypto_core_ed25519_scalar_reduce(s + bytes(32)) != s):
            raise InvalidData("not a holder key", errors=[FieldError(
                "scalar", "must be 32 bytes, non-zero and reduced modulo the group order")])

    @classmethod
    def generate(cls) -> HolderKey:
        return cls(_random_scalars(1)[0])

    @property
    def key_id(self) -> str:
        """A public name for the key (hash of ``k·G``), to tell tables of old keys apart."""
        public = sodium.crypto_scalarmult_ed25519_base_noclamp(self.scalar)
        return hashlib.blake2b(public, digest_size=8).hexdigest()


def _seal(encoded: bytes, point: bytes, references: list[str]) -> bytes:
    plain = json.dumps(references, ensure_ascii=False, separators=(",", ":")).encode()
    # Trailing spaces are JSON whitespace: padding needs no length field to undo.
    plain += b" " * (-len(plain) % SEAL_BLOCK)
    return bytes(_box(encoded, point).encrypt(plain))


_Group = tuple[str, str, list[str]]


def _table_entries(scalar: bytes, groups: Sequence[_Group]) -> list[tuple[bytes, bytes]]:
    out = []
    for kind, value, references in groups:
        encoded = _encode(kind, value)
        point = sodium.crypto_scalarmult_ed25519_noclamp(scalar, hash_to_group(kind, value))
        out.append((_tag(encoded, point), _seal(encoded, point, references)))
    return out


def holder_table(key: HolderKey, items: Iterable[tuple[str, str, str]], *,
                 workers: int = 1) -> dict[bytes, bytes]:
    """The table a holder publishes: ``tag(x)`` -> references for ``x``, sealed.

    ``items`` are (kind, canonical value, reference); values must already be normalised
    (``identifiers.normalise``), because a value written differently is a different
    identifier here. Several references for one identifier share one entry. ``workers``
    threads share the hashing and scalar multiplications (libsodium runs without the GIL),
    which matters when a million holdings are registered at once.
    """
    references: dict[tuple[str, str], dict[str, None]] = {}
    for n, (kind, value, reference) in enumerate(items):
        _check_item(kind, value, f"items[{n}]")
        if not isinstance(reference, str) or not reference:
            raise InvalidData(f"items[{n}]: empty reference", errors=[
                FieldError(f"items[{n}].reference", "empty")])
        references.setdefault((kind, value), {})[reference] = None
    groups = [(kind, value, list(refs)) for (kind, value), refs in references.items()]
    del references
    if workers <= 1 or len(groups) < 2 * _CHUNK:
        return dict(_table_entries(key.scalar, groups))
    table: dict[bytes, bytes] = {}
    chunks = (groups[i:i + _CHUNK] for i in range(0, len(groups), _CHUNK))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for entries in pool.map(lambda chunk: _table_entries(key.scalar, chunk), chunks):
            table.update(entries)
    return table


def evaluate(key: HolderKey, points: Sequence[bytes]) -> list[bytes]:
    """``k·B`` for each blinded point ``B`` of a querier, every point checked first.

    This is the only operation that turns a guess into something testable, so the caller
    must count ``len(points)`` against the querier's allowance and log the request. Raises
    ``InvalidData`` naming the offending points if any is not a valid group element (an
    invalid or small-order point could otherwise leak bits of ``k``); nothing is evaluated
    then.
    """
    if len(points) > MAX_POINTS:
        raise InvalidData(f"{len(points)} points in one request; at most {MAX_POINTS}",
                          errors=[FieldError("points", f"more than {MAX_POINTS}")])
    _check_points(points, "points")
    return [sodium.crypto_scalarmult_ed25519_noclamp(key.scalar, p) for p in points]


# -- querier ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class BlindedQuery:
    """What the querier sends to each holder: blinded points, in the order of its items."""

    points: tuple[bytes, ...]


@dataclass(frozen=True)
class QueryState:
    """What the querier keeps until the answers come: its items and the unblinding scalars.

    The scalars are as secret as the identifiers (with them a blinded point gives ``H1(q)``
    back), so the state stays in the querying process and out of logs and repr.
    """

    items: tuple[tuple[str, str], ...]
    unblinders: tuple[bytes, ...] = field(repr=False)


@dataclass(frozen=True)
class Hit:
    """Item ``index`` of the query is held by the holder under ``reference``."""

    index: int
    kind: str
    value: str
    reference: str


@dataclass(frozen=True)
class Unblinded:
    """The querier's ``F(q)`` and tags for its items, ready to look up in a holder's table.

    ``tags`` may be looked up wherever the table is stored (for example with an SQL ``IN``)
    before ``hits`` opens the entries found.
    """

    items: tuple[tuple[str, str], ...]
    tags: tuple[bytes, ...]
    outputs: tuple[bytes, ...] = field(repr=False)


def blind(items: Sequence[tuple[str, str]]) -> tuple[BlindedQuery, QueryState]:
    """Blind (kind, canonical value) items with fresh scalars: a query, and the state to keep.

    The same identifier gives a different point on every call, so holders can neither read
    nor link queries.
    """
    if len(items) > MAX_POINTS:
        raise InvalidData(f"{len(items)} identifiers in one query; at most {MAX_POINTS}",
                          errors=[FieldError("items", f"more than {MAX_POINTS}")])
    for n, (kind, value) in enumerate(items):
        _check_item(kind, value, f"items[{n}]")
    blinders = _random_scalars(len(items))
    points = tuple(sodium.crypto_scalarmult_ed25519_noclamp(r, hash_to_group(kind, value))
                   for (kind, value), r in zip(items, blinders, strict=True))
    state = QueryState(items=tuple((k, v) for k, v in items),
                       unblinders=tuple(_invert_all(blinders)))
    return BlindedQuery(points), state


def unblind(state: QueryState, evaluated: Sequence[bytes]) -> Unblinded:
    """``F(q)`` and ``tag(q)`` for each item from a holder's answer to its blinded query.

    The answer is checked like any input from another party: one valid group element per
    item, in order, else ``InvalidData``.
    """
    if len(evaluated) != len(state.items):
        raise InvalidData(f"{len(evaluated)} evaluated points for {len(state.items)} items",
                          errors=[FieldError("evaluated", "not one point per item")])
    _check_points(evaluated, "evaluated")
    outputs = tuple(sodium.crypto_scalarmult_ed25519_noclamp(u, p)
                    for u, p in zip(state.unblinders, evaluated, strict=True))
    tags = tuple(_tag(_encode(kind, value), out)
                 for (kind, value), out in zip(state.items, outputs, strict=True))
    return Unblinded(items=state.items, tags=tags, outputs=outputs)


def hits(unblinded: Unblinded, table: Mapping[bytes, bytes]) -> list[Hit]:
    """The holder's references for the items whose tags are in ``table``, in item order.

    An entry whose tag matches but which does not open means the table was not made with the
    key that evaluated the query (or was altered): ``InvalidData`` rather than a silent miss.
    """
    found: list[Hit] = []
    for index, ((kind, value), tag, out) in enumerate(
            zip(unblinded.items, unblinded.tags, unblinded.outputs, strict=True)):
        sealed = table.get(tag)
        if sealed is None:
            continue
        try:
            references = json.loads(_box(_encode(kind, value), out).decrypt(sealed))
        except (CryptoError, ValueError):
            raise InvalidData(f"the table entry for item {index} does not open", errors=[
                FieldError("table", "entry not sealed for this identifier and key")]) from None
        found.extend(Hit(index, kind, value, str(r)) for r in references)
    return found


def finish(state: QueryState, evaluated: Sequence[bytes],
           table: Mapping[bytes, bytes]) -> list[Hit]:
    """``unblind`` then ``hits``: the answer of one holder to the query, as hits."""
    return hits(unblind(state, evaluated), table)


# -- transport --------------------------------------------------------------------------------

def pack_points(points: Sequence[bytes]) -> bytes:
    """Points as one byte string (32 bytes each), e.g. to base64 into a signed envelope."""
    return b"".join(points)


def unpack_points(data: bytes) -> list[bytes]:
    """The points of ``pack_points`` output; the length is checked, the points by the user."""
    if len(data) % POINT_BYTES:
        raise InvalidData("points are not a whole number of 32-byte encodings",
                          errors=[FieldError("points", "length not a multiple of 32")])
    if len(data) // POINT_BYTES > MAX_POINTS:
        raise InvalidData(f"more than {MAX_POINTS} points",
                          errors=[FieldError("points", f"more than {MAX_POINTS}")])
    return [data[i:i + POINT_BYTES] for i in range(0, len(data), POINT_BYTES)]

