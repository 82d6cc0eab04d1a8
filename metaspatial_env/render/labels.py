"""Text overlays for rendered views: object id labels, a compass and the room's size.

Text is drawn with PIL's built-in font (``ImageFont.load_default(size=...)``, which Pillow
ships inside the package; the bitmap default font when FreeType is missing), never a system
font file. Each distinct label is rasterised once into a small RGB patch and cached, then
pasted into the frame with numpy slicing, so a warm frame with 40 labels costs well under a
millisecond of text work.

Labels are placed greedily: a label goes centred on its anchor, and when that spot overlaps
an earlier label it is tried a row above, below, two rows above, ..., keeping the first free
spot (or the original one when none is free). Labels are clamped inside their view's region
and texts too wide for the region are cut with an ellipsis, so long ids never spill into the
neighbouring view.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: Label colours: light text on a dark box, with a border in the object's colour.
TEXT_RGB = (250, 250, 250)
BOX_RGB = (24, 24, 30)


def load_font(size: int):
    """PIL's bundled font at ``size`` px; the fixed-size bitmap default when FreeType is absent."""
    try:
        return ImageFont.load_default(size=size)
    except Exception:  # Pillow < 10.1 or no FreeType: the bitmap default font
        return ImageFont.load_default()


def font_size_for(view_height: int) -> int:
    """A readable label size for a view of the given pixel height."""
    return int(min(18, max(9, round(view_height * 0.026))))


@dataclass(frozen=True)
class Label:
    """One label to draw: ``text`` centred on pixel ``(x, y)`` of the composed image."""

    text: str
    x: float
    y: float
    accent: tuple[int, int, int] = (200, 200, 200)


class LabelPainter:
    """Draws labels into ``(H, W, 3)`` uint8 frames; keeps a cache of rasterised texts."""

    def __init__(self, font_size: int = 12, cache_size: int = 1024):
        self.font_size = int(font_size)
        self.font = load_font(self.font_size)
        self.pad = max(1, self.font_size // 6)
        self._cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._cache_size = int(cache_size)
        # a line height that does not depend on the text, so all labels line up
        box = self._bbox("Hgjy_0")
        self.text_height = max(1, box[3] - box[1])
        self._text_top = box[1]

    # -- text rasterisation -------------------------------------------------------------
    def _bbox(self, text: str) -> tuple[int, int, int, int]:
        try:
            return tuple(int(v) for v in self.font.getbbox(text))  # type: ignore[return-value]
        except Exception:  # very old bitmap fonts
            w, h = self.font.getsize(text)  # pragma: no cover
            return (0, 0, int(w), int(h))  # pragma: no cover

    def _text_width(self, text: str) -> int:
        b = self._bbox(text)
        return max(0, b[2] - min(0, b[0]))

    def _fit(self, text: str, max_width: int) -> str:
        """``text`` cut with an ellipsis so its patch is at most ``max_width`` px wide."""
        budget = max_width - 2 * self.pad - 2
        if self._text_width(text) <= budget:
            return text
        lo, hi = 0, len(text)
        while lo < hi:  # longest prefix that fits with the ellipsis
            mid = (lo + hi + 1) // 2
            if self._text_width(text[:mid] + "...") <= budget:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo] + "..." if lo > 0 else text[:1]

    def patch(self, text: str, accent=(200, 200, 200), max_width: int = 10_000) -> np.ndarray:
        """The rasterised label box for ``text`` as an ``(h, w, 3)`` uint8 array (cached)."""
        key = (text, tuple(accent), int(max_width))
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        shown = self._fit(text, max_width)
        width = self._text_width(shown) + 2 * self.pad + 2
        height = self.text_height + 2 * self.pad + 2
        width = max(3, min(width, max(3, int(max_width))))
        img = Image.new("RGB", (width, height), BOX_RGB)
        draw = ImageDraw.Draw(img)
        draw.text((self.pad + 1, self.pad + 1 - self._text_top), shown, font=self.font, fill=TEXT_RGB)
        draw.rectangle((0, 0, width - 1, height - 1), outline=tuple(int(c) for c in accent))
        arr = np.asarray(img, dtype=np.uint8).copy()
        arr.setflags(write=False)
        self._cache[key] = arr
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return arr

    # -- placement ------------------------------------------------------------------------
    def draw(self, image: np.ndarray, labels, region: tuple[int, int, int, int]) -> None:
        """Paste ``labels`` into ``image`` (in place), kept inside ``region = (x0, y0, x1, y1)``.

        Labels whose anchor is not finite or lies outside the region are skipped.
        """
        x0, y0, x1, y1 = (int(v) for v in region)
        rw, rh = x1 - x0, y1 - y0
        if rw < 4 or rh < 4:
            return
        placed: list[tuple[int, int, int, int]] = []
        for label in labels:
            if not (np.isfinite(label.x) and np.isfinite(label.y)):
                continue
            if not (x0 <= label.x < x1 and y0 <= label.y < y1):
                continue
            patch = self.patch(label.text, label.accent, rw)
            ph, pw = patch.shape[:2]
            if ph > rh:
                continue
            left = int(round(label.x - pw / 2.0))
            top0 = int(round(label.y - ph / 2.0))
            left = min(max(left, x0), x1 - pw)
            best = None
            for k in (0, -1, 1, -2, 2, -3, 3):
                top = min(max(top0 + k * (ph + 1), y0), y1 - ph)
                rect = (left, top, left + pw, top + ph)
                if not any(_overlap(rect, r) for r in placed):
                    best = rect
                    break
            if best is None:
                top = min(max(top0, y0), y1 - ph)
                best = (left, top, left + pw, top + ph)
            placed.append(best)
            image[best[1]:best[3], best[0]:best[2]] = patch

    # -- plan furniture --------------------------------------------------------------------
    def compass(self, image: np.ndarray, region: tuple[int, int, int, int], caption: str = "") -> None:
        """Draw a north arrow with "N" in the region's top-right corner, ``caption`` bottom-left."""
        x0, y0, x1, y1 = (int(v) for v in region)
        if x1 - x0 < 24 or y1 - y0 < 24:
            return
        patch = self._compass_patch()
        ph, pw = patch.shape[:2]
        if pw < x1 - x0 and ph < y1 - y0:
            top, left = y0 + 3, x1 - pw - 3
            image[top:top + ph, left:left + pw] = _blend(image[top:top + ph, left:left + pw], patch)
        if caption:
            cap = self.patch(caption, (120, 120, 130), x1 - x0 - 6)
            ch, cw = cap.shape[:2]
            if ch < y1 - y0:
                image[y1 - ch - 3:y1 - 3, x0 + 3:x0 + 3 + cw] = cap

    def _compass_patch(self) -> np.ndarray:
        key = ("__compass__",)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        s = self.text_height
        w = max(14, 2 * s)
        h = max(24, 3 * s + 6)
        img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        draw = ImageDraw.Draw(img)
        draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=3, fill=BOX_RGB + (230,))
        cx = w / 2.0
        ty = self.pad + 1
        draw.text((cx, ty - self._text_top), "N", font=self.font, fill=TEXT_RGB, anchor="mt") \
            if _supports_anchor(self.font) else draw.text((cx - s / 3, ty - self._text_top), "N",
                                                          font=self.font, fill=TEXT_RGB)
        a_top = ty + s + 2
        a_bot = h - 3
        half = max(3, w // 4)
        draw.polygon([(cx, a_top), (cx - half, a_top + half + 1), (cx + half, a_top + half + 1)],
                     fill=(235, 80, 60, 255))
        draw.line([(cx, a_top + half), (cx, a_bot)], fill=(235, 80, 60, 255), width=max(1, w // 7))
        arr = np.asarray(img, dtype=np.uint8).copy()
        arr.setflags(write=False)
        self._cache[key] = arr
        return arr


def _supports_anchor(font) -> bool:
    return isinstance(font, ImageFont.FreeTypeFont)


def _blend(dst: np.ndarray, rgba: np.ndarray) -> np.ndarray:
    alpha = rgba[..., 3:4].astype(np.uint16)
    out = (rgba[..., :3].astype(np.uint16) * alpha + dst.astype(np.uint16) * (255 - alpha) + 127) // 255
    return out.astype(np.uint8)


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


__all__ = ["Label", "LabelPainter", "load_font", "font_size_for"]
