"""SinGAN-Seg in a project: which images to learn, generator files, adding generated pairs.

Generators live in ``PROJECT/generators/<image>/vNNNN.safetensors`` (one version per training
run of that image). Generated pairs are added through :meth:`~napari_noisyfix.project.Project.
set_synthetic`, marked ``synthetic`` with their source image and generator version, so they only
ever serve as training data (``noisyfix train --synthetic add``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import NoisyFixError
from ..progress import Progress, restage
from .singan_config import SinGANConfig
from .style import NEEDS_ENCODER, STYLES, apply_style

if TYPE_CHECKING:  # the networks load torch: imported where a generator is trained or drawn
    from .singan_generate import SinGANSeg

GENERATORS = "generators"


def check_two_class(project) -> None:
    """SinGAN-Seg here makes foreground/background masks."""
    if project.n_classes != 2:
        raise NoisyFixError(
            f"{project.root}: synthetic pairs need a two-class project; it has {project.n_classes}"
        )


def check_source(project, name: str) -> np.ndarray:
    """The working mask of a real image that a generator may learn (it must hold objects)."""
    if project.is_synthetic(name):
        raise NoisyFixError(f"{project.root}: {name} is a synthetic pair, not a real image")
    mask = project.mask(name)
    if not mask.any():
        raise NoisyFixError(f"{project.root}: {name}: mask is empty; a generator needs objects")
    return mask


def choose_images(project, n: int, names: list[str] | None = None, seed: int = 0) -> list[str]:
    """The real images to learn: ``names`` as given (each checked), else ``n`` images with
    objects, trusted ones first (clean subset, then reviewed), the rest in a seeded order, since a
    generator copies its source mask's errors into every pair it makes."""
    check_two_class(project)
    if names:
        for name in names:
            check_source(project, name)
        return list(names)
    rng = np.random.default_rng(seed)
    pool = [m for m in project.names if project.mask(m).any()]
    rank = {m: (not project.is_clean(m), not project.reviewed(m).any(), rng.random()) for m in pool}
    if n < 1 or n > len(pool):
        raise NoisyFixError(
            f"{project.root}: --images {n}: the project has {len(pool)} images with objects"
        )
    return sorted(pool, key=rank.__getitem__)[:n]


def generator_versions(project, name: str) -> list[int]:
    """Stored generator versions of real image ``name``."""
    folder = Path(project.root) / GENERATORS / name
    return sorted(int(p.stem[1:]) for p in folder.glob("v[0-9][0-9][0-9][0-9].safetensors"))


def generator_path(project, name: str, version: int) -> Path:
    return Path(project.root) / GENERATORS / name / f"v{int(version):04d}.safetensors"


def train_generators(project, names: list[str], config: SinGANConfig):
    """Train and store one generator per image; yields Progress, returns
    ``{name: {"version", "seconds"}}``. Cancelling keeps the generators already finished."""
    from .singan_train import train_singan

    project.check_writable("store generators")
    done = {}
    for i, name in enumerate(names):
        mask = check_source(project, name)
        stage = f"generator {i + 1}/{len(names)} ({name})"
        model = yield from restage(train_singan(project.image(name), mask, config, name), stage)
        version = max([0, *generator_versions(project, name)]) + 1
        model.save(generator_path(project, name, version))
        done[name] = {"version": version, "seconds": model.settings["seconds"]}
        project.log.record("synth_train", image=name, details={**done[name], **config.to_dict()})
    return done


def style_pairs(pairs: list, styles: list, style: str, seed: int, encoder=None) -> list:
    """Each (image, mask) of ``pairs`` with its image in the style of a real image drawn from
    ``styles`` (seeded, so the same seed picks the same style images for any method); the masks
    are untouched. ``encoder``: see :func:`~.style.apply_style`."""
    rng = np.random.default_rng(seed)
    out = []
    for image, mask in pairs:
        ref = styles[int(rng.integers(len(styles)))]
        out.append((apply_style(style, image, ref, encoder=encoder), mask))
    return out


def styled_pairs(
    model: SinGANSeg, k: int, styles: list, style: str, seed: int, shape, where: str, encoder=None
):
    """``k`` pairs of one generator, styled by :func:`style_pairs`."""
    if style not in STYLES:
        raise NoisyFixError(f"unknown style {style!r}; choose from {', '.join(STYLES)}")
    pairs = model.sample(k, seed=seed, shape=shape, where=where)
    return style_pairs(pairs, styles, style, seed, encoder)


def style_encoder(project):
    """The encoder of the project's newest model, for the styles in :data:`~.style.NEEDS_ENCODER`.

    That model was trained on the project's real images; the benchmark, which must not see a
    fold's held-out images, uses each fold's own model instead.
    """
    from ..model.checkpoints import load_checkpoint

    version = project.latest_model_version()
    if version is None:
        raise NoisyFixError(
            f"{project.root}: style adain_encoder needs a trained model; run noisyfix train first"
        )
    net = getattr(load_checkpoint(project.model_dir(version)).model, "net", None)
    if getattr(net, "encoder", None) is None:
        raise NoisyFixError(
            f"{project.model_dir(version)}: style adain_encoder needs an encoder-decoder model"
        )
    return net.encoder


def draw_pairs(project, per_image: int, style: str = "fda", seed: int = 0, names=None):
    """Draw ``per_image`` pairs from the newest generator of every trained image (or ``names``)
    without adding them; yields Progress, returns ``(entries, pairs)`` for :func:`add_pairs`.

    Each image is styled after a real image drawn from the trained ones (SinGAN-Seg's second
    step), so the pairs look like the images they stand in for. The same arguments draw the same
    pairs, so a preview (napari) is exactly what is added.
    """
    from .singan_generate import SinGANSeg

    if per_image < 1:
        raise NoisyFixError(f"--per-image {per_image}: must be at least 1")
    trained = [n for n in project.names if generator_versions(project, n)]
    names = list(names or trained)
    missing = [n for n in names if n not in trained]
    if missing or not names:
        raise NoisyFixError(
            f"{project.root}: no generator for {missing[0] if missing else 'any image'}; "
            "run noisyfix synth train first"
        )
    styles = [project.image(n) for n in trained]
    encoder = style_encoder(project) if style in NEEDS_ENCODER else None
    entries, pairs = [], {}
    for i, name in enumerate(names):
        version = generator_versions(project, name)[-1]
        yield Progress("generating pairs", i, len(names), name)
        model = SinGANSeg.load(generator_path(project, name, version))
        shape = tuple(project.entry(name)["shape"])
        made = styled_pairs(model, per_image, styles, style, seed + i, shape, name, encoder)
        for j, pair in enumerate(made):
            syn = f"{name}.syn{j:03d}"
            pairs[syn] = pair
            entries.append(
                {"name": syn, "source": name, "generator_version": version, "style": style}
            )
    yield Progress("generating pairs", len(names), len(names), "drawn")
    return entries, pairs


def add_pairs(project, entries: list[dict], pairs: dict) -> int:
    """Add pairs drawn by :func:`draw_pairs`, replacing those their source images had; returns
    the number added."""
    project.check_writable("add synthetic pairs")
    sources = sorted({e["source"] for e in entries})
    project.set_synthetic(entries, pairs, drop=project.synthetic_names(sources=sources))
    styles = sorted({e["style"] for e in entries})
    project.log.record("synth_generate", details={"pairs": len(entries), "style": ",".join(styles)})
    return len(entries)


def generate(project, per_image: int, style: str = "fda", seed: int = 0, names=None):
    """:func:`draw_pairs` then :func:`add_pairs` (``noisyfix synth generate``); yields
    Progress, returns the number added."""
    project.check_writable("add synthetic pairs")
    entries, pairs = yield from draw_pairs(project, per_image, style, seed, names)
    return add_pairs(project, entries, pairs)
