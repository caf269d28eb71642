"""Why a region is flagged, in words a reviewer reads: the kind, the evidence, the numbers."""

from __future__ import annotations

KIND_WORDS = {
    "missing": "object missing from the mask",
    "spurious": "object in the mask the model does not see",
    "too_wide": "outline drawn too wide",
    "too_narrow": "outline drawn too narrow",
    "shifted": "outline shifted",
    "outlier": "object unlike the others",
    "merged": "one object drawn where there are several",
    "split": "one object drawn as several pieces",
}
WHOLE_MASK_WORDS = {
    "too_wide": "whole mask drawn too wide",
    "too_narrow": "whole mask drawn too narrow",
    "shifted": "whole mask misaligned with the image",
}


def kind_words(kind: str, scope: str = "object") -> str:
    """The region kind as the reviewer reads it (``"outline drawn too wide"``)."""
    if scope == "image":
        return WHOLE_MASK_WORDS.get(kind, f"whole mask {kind}")
    return KIND_WORDS.get(kind, kind)


def _sees(region) -> str:
    """What the proposal puts where the region is, in words."""
    if region.kind in ("spurious", "too_wide"):
        return "background"
    return "an object" if region.cls == 1 else f"class {region.cls}"


def region_reason(region) -> str:
    """The plain-words reason of a region from its evidence row (``region.features``) and its
    ``score``, ``prob_correct`` and gains."""
    from .features import FEATURE_INDEX as col

    f = region.features
    parts = [kind_words(region.kind, region.scope)]
    if region.scope == "image":
        parts.append(
            f"{region.detail}: the model prefers the restored mask (fit weight {f[col['doubt']]:.2f})"
        )
    elif region.detail:  # a merge or split: the finder's evidence in words
        parts.append(region.detail)
    else:
        parts.append(f"the model sees {_sees(region)} here at {f[col['model_belief']]:.0%}")
        own, bg = f[col["colour_to_own"]], f[col["colour_to_background"]]
        if own or bg:
            closer = "the background" if bg < own else "the labelled objects"
            parts.append(
                f"intensity matches {closer} ({bg:.1f} sd from background, "
                f"{own:.1f} sd from labelled objects)"
            )
    parts += _colour_words(f[col["colour_vote"]])
    parts.append(
        f"error probability {region.score:.0%}, the proposal helps with probability "
        f"{region.prob_correct:.0%}, expected gain {region.gain:.0f} px "
        f"({region.dice_gain:+.3f} image Dice)"
    )
    return "; ".join(parts)


def _colour_words(vote: float) -> list[str]:
    """The image's own colour vote on the proposal, in words. Where most of the changed pixels'
    colours fit the mask as drawn, the image speaks against the model: say so plainly, since the
    geometry alone cannot tell a mask drawn too wide from a model that sees too little."""
    if vote > 0.5:
        return [f"the colours of {vote:.0%} of the pixels it changes fit the proposal better"]
    if vote < 0.5:
        drawn = f"but the colours of {1.0 - vote:.0%} of the pixels it changes fit the mask"
        return [f"{drawn} as drawn better: the model may be the one that is wrong here"]
    return []
