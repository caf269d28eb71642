"""The ``noisyfix synth`` commands (train generators, add generated pairs) and
``noisyfix synth-benchmark``; :func:`add_commands` registers them on the main parser."""

from __future__ import annotations


def _cmd_synth_train(args) -> int:
    from ..cli import open_project
    from ..progress import drive
    from .singan_config import SinGANConfig
    from .store import choose_images, train_generators

    config = SinGANConfig(
        size=args.size,
        scales=args.scales,
        iters=args.iters,
        width=args.width,
        lr=args.lr,
        device=args.device,
        seed=args.seed,
    )
    names = [n.strip() for n in args.names.split(",") if n.strip()] if args.names else None
    with open_project(args.project, "write") as proj:
        chosen = choose_images(proj, args.images, names, seed=args.seed)
        done = drive(train_generators(proj, chosen, config))
    for name, info in done.items():
        print(f"{name}: generator v{info['version']:04d} ({info['seconds']:.1f} s)")
    print(f"next: noisyfix synth generate {args.project} --per-image K")
    return 0


def _cmd_synth_generate(args) -> int:
    from ..cli import open_project
    from ..progress import drive
    from .store import generate

    with open_project(args.project, "write") as proj:
        n = drive(generate(proj, args.per_image, style=args.style, seed=args.seed))
    print(f"{n} synthetic pairs added to {args.project} (training only: --synthetic add)")
    return 0


def _cmd_synth_benchmark(args) -> int:
    from ..benchmark.synthetic_pairs import synth_benchmark_command

    return synth_benchmark_command(args)


def add_commands(sub) -> None:
    """Add ``synth train``, ``synth generate`` and ``synth-benchmark`` to the subparsers ``sub``."""
    from .style import STYLES

    p = sub.add_parser("synth", help="SinGAN-Seg synthetic image + mask pairs for training")
    steps = p.add_subparsers(dest="synth_command", required=True, metavar="STEP")
    t = steps.add_parser("train", help="train one generator per chosen real image")
    t.add_argument("project")
    t.add_argument("--images", type=int, default=5, help="how many real images (trusted first)")
    t.add_argument("--names", default=None, help="comma list of images instead of --images")
    t.add_argument("--size", type=int, default=96, help="longer side the generator learns at")
    t.add_argument("--scales", type=int, default=4, help="pyramid scales")
    t.add_argument("--iters", type=int, default=300, help="iterations per scale")
    t.add_argument("--width", type=int, default=32, help="feature channels of every network")
    t.add_argument("--lr", type=float, default=5e-4, help="Adam learning rate")
    t.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(func=_cmd_synth_train)
    g = steps.add_parser("generate", help="add generated pairs (training data only)")
    g.add_argument("project")
    g.add_argument("--per-image", type=int, default=10, help="pairs per trained image")
    g.add_argument("--style", choices=list(STYLES), default="fda", help="style transfer")
    g.add_argument("--seed", type=int, default=0)
    g.set_defaults(func=_cmd_synth_generate)

    b = sub.add_parser(
        "synth-benchmark", help="do synthetic pairs help with few real images? (K-fold CV)"
    )
    b.add_argument("data", help="folder with images/ and masks/")
    b.add_argument("--real", type=int, default=5, help="real images per fold")
    b.add_argument("--synthetic", type=int, default=50, help="synthetic pairs per fold")
    b.add_argument("--budget", choices=["tiny", "fast", "full"], default="fast")
    b.add_argument("--style", choices=["fda", "adain"], default="fda")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    b.add_argument("--out", required=True, help="folder for the results")
    b.set_defaults(func=_cmd_synth_benchmark)
