"""Deterministic ids: the same world seed and counter always give the same id, so a sequential
run (demo, test) produces the same app ids every time. Formats follow the real systems: GUIDs
for QRS entities and Cloud apps, 24 hex digits for Cloud users, spaces and items.
"""

from __future__ import annotations


def _bits(seed: object, kind: str, n: int, bits: int) -> int:
    import random

    return random.Random(f"{seed}:{kind}:{n}").getrandbits(bits)


def guid(seed: object, kind: str, n: int) -> str:
    """A version-4-looking GUID."""
    return format_guid(_bits(seed, kind, n, 128))


def hex24(seed: object, kind: str, n: int) -> str:
    return f"{_bits(seed, kind, n, 96):024x}"


def format_guid(bits: int) -> str:
    """A 128-bit integer as a version-4-looking GUID (for bulk generation from one RNG)."""
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"


def trace_id(seed: object, counter: int) -> str:
    """16 hex digits for an error body's traceId, without importing random (error paths are hot
    in fault sweeps). splitmix64 over the seed and the call counter."""
    x = (hash_seed(seed) + counter * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return f"{x ^ (x >> 31):016x}"


def hash_seed(seed: object) -> int:
    """A process-independent hash of the seed (str hashes are randomised per process)."""
    value = 1469598103934665603
    for byte in str(seed).encode():
        value = ((value ^ byte) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return value
