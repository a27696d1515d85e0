"""A synthetic shop of any size: SKUs and titles shaped like a real merchant's.

SKUs are two letters of a product line and a number ("TS1042", "MG207", "KB0031"): none is a
single letter like the demo shop's A100 ... E15, which the gateway bench's clips name; titles
are a style, a colour or material and a kind of product ("slim blue denim jacket"), every word in
the recogniser's dictionary, so a title can be heard when it is in the grammar. The same `count`
gives the same products on every run, listed newest first (as the catalog's GetVocabulary does).
"""

from __future__ import annotations

import itertools
import random

# (SKU letters, kind of product)
LINES: tuple[tuple[str, str], ...] = (
    ("TS", "shirt"),
    ("JK", "jacket"),
    ("JN", "jeans"),
    ("DR", "dress"),
    ("SK", "skirt"),
    ("SH", "shoes"),
    ("BT", "boots"),
    ("HT", "hat"),
    ("SC", "scarf"),
    ("BG", "bag"),
    ("MG", "mug"),
    ("CP", "cup"),
    ("PL", "plate"),
    ("BW", "bowl"),
    ("LP", "lamp"),
    ("CH", "chair"),
    ("TB", "table"),
    ("PW", "pillow"),
    ("BL", "blanket"),
    ("TW", "towel"),
    ("CL", "clock"),
    ("KB", "keyboard"),
    ("PC", "phone case"),
    ("CB", "cable"),
    ("WB", "water bottle"),
    ("NB", "notebook"),
    ("PN", "pen"),
    ("SP", "soap"),
    ("CN", "candle"),
    ("TY", "toy"),
)
STYLES = (
    "classic", "slim", "soft", "large", "small", "light", "heavy", "warm", "cozy", "simple",
    "modern", "vintage", "round", "square", "long", "short", "wide", "tall", "deluxe", "basic",
)  # fmt: skip
COLOURS = (
    "red", "blue", "green", "black", "white", "gray", "brown", "pink", "yellow", "orange",
    "purple", "silver", "golden", "navy", "olive", "cotton", "wool", "leather", "linen", "wooden",
)  # fmt: skip


def products(count: int, seed: int = 30) -> list[tuple[str, str]]:
    """`count` distinct (SKU, title) pairs, newest first; titles are distinct while count allows
    (30 lines x 20 styles x 20 colours = 12,000), then they repeat as real catalogs' do (sizes)."""
    rng = random.Random(seed)
    titles = [
        (letters, f"{style} {colour} {kind}")
        for (letters, kind), style, colour in itertools.product(LINES, STYLES, COLOURS)
    ]
    rng.shuffle(titles)
    numbers: dict[str, int] = {}
    out: list[tuple[str, str]] = []
    for i in range(count):
        letters, title = titles[i % len(titles)]
        numbers[letters] = numbers.get(letters, rng.randrange(100, 900)) + rng.randrange(1, 7)
        number = numbers[letters]
        sku = f"{letters}{number:04d}" if rng.random() < 0.1 else f"{letters}{number}"  # some with a leading zero
        out.append((sku, title))
    out.reverse()  # the newest first
    return out
