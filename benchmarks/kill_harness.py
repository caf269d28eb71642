"""Kill-9 harness: a review session in a child process, SIGKILLed at random moments, audited.

A small sample project is made and scored on synthetic probabilities (no training). Then, ``--kills``
times, a child process opens the project (which runs recovery), opens a ReviewSession and performs
random actions (accept, reject, edit, accept_all, undo, redo) as fast as it can, printing one flushed
line ``ACK <row id> <action> <image>:<sha1 of its mask>,...`` after each action returns; the parent
SIGKILLs it after a random delay, then reopens the project itself (recovery again) and checks:

* **lost**: an acknowledged action whose row is not committed, or whose effect is not on disk
  (an image's mask differs from the ACK although no later committed action touched the image);
* **half-applied**: an image whose mask or reviewed map differs from what the last committed
  action touching it left (files changed with no committed log row), after recovery;
* **corrupt**: ``PRAGMA integrity_check`` other than ``ok``, or a pending row left after recovery.

Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/kill_harness.py --kills 60 --seed 0 \\
        --out /tmp/kill_harness.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

READY, ACK = "READY", "ACK"
ACTIONS = ("accept", "accept", "reject", "edit", "accept_all", "accept_all", "undo", "redo")


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=60, help="children to kill (at least 50 for a run)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=12, help="sample images")
    p.add_argument("--size", type=int, default=64, help="sample image side")
    p.add_argument("--max-delay", type=float, default=1.5, help="longest seconds before a kill")
    p.add_argument("--dir", help="work folder (default: a temporary one)")
    p.add_argument("--out", help="write the figures as JSON here")
    p.add_argument("--child", help=argparse.SUPPRESS)
    return p.parse_args(argv)


# ---------------------------------------------------------------------- the project
def make_project(root: Path, n: int, size: int, seed: int):
    """A sample project scored on probabilities made from its true masks (no training)."""
    from napari_noisyfix.progress import drive
    from napari_noisyfix.quality.score import score_project
    from napari_noisyfix.quality.synthetic import probs_from_mask
    from napari_noisyfix.synth.sample import make_sample_project

    project = make_sample_project(root, n=n, size=size, seed=seed, noise=0.8)
    version, _ = project.new_model_dir()
    for i, name in enumerate(project.names):
        probs = probs_from_mask(project.truth(name), project.n_classes, noise=0.03, seed=i)
        project.save_probs(version, name, probs)
    drive(score_project(project), quiet=True)
    project.close()


# ---------------------------------------------------------------------- the child
def child(root: str, seed: int) -> None:
    """Open a session and act at random forever, acknowledging each returned action."""
    from napari_noisyfix.errors import NoisyFixError
    from napari_noisyfix.project import Project
    from napari_noisyfix.review import ReviewSession

    rng = random.Random(seed)
    session = ReviewSession(Project.open(root), "harness")
    if not session.regions:
        raise SystemExit("the scored sample project has no flagged region")
    print(READY, len(session.regions), flush=True)
    while True:
        kind = rng.choice(ACTIONS)
        try:
            for done in steps(session, kind, rng):
                print(ACK, session.last_row, *done, flush=True)
        except NoisyFixError as exc:
            print("ERR", kind, str(exc), flush=True)


def steps(session, kind: str, rng: random.Random):
    """Run action ``kind``; yield ``(kind, image:sha1,...)`` for each action that returned.

    An accept-all with no open region first undoes (up to 4 actions) to reopen some.
    """
    if kind == "accept_all":
        for _ in range(4):
            if session.accept_all(0.0, preview=True)["regions"]:
                break
            if (done := act(session, "undo", rng)) is None:
                return
            yield done
        else:
            return
    if (done := act(session, kind, rng)) is not None:
        yield done


def act(session, kind: str, rng: random.Random) -> tuple[str, str] | None:
    """Run one action; what ran and ``image:sha1,...`` of the masks it left (None: nothing)."""
    if kind in ("accept", "reject"):
        session.goto(rng.choice(session.regions).id)  # any region, open or closed already
    if kind == "accept":
        action, side = session.accept(), "after"
    elif kind == "reject":
        action, side = session.reject(), "after"
    elif kind == "edit":
        action, side = session.commit_edit(*random_edit(session, rng)), "after"
    elif kind == "accept_all":
        counts = session.accept_all(rng.uniform(0.0, 0.9))
        action, side = (session.history.done[-1] if counts["regions"] else None), "after"
    elif kind == "undo":
        action, side = session.undo(), "before"
    else:
        action, side = session.redo(), "after"
    return None if action is None else (kind, touched(action, side))


def random_edit(session, rng: random.Random):
    """A brush stroke: a small square of an image set to another class."""
    import numpy as np

    project = session.project
    name = rng.choice(project.names)
    mask = project.mask(name)
    h, w = mask.shape
    r, c, k = rng.randrange(h - 4), rng.randrange(w - 4), rng.randrange(2, 7)
    value = (int(mask[r, c]) + 1) % project.n_classes
    mask[r : r + k, c : c + k] = np.uint8(value)
    return name, mask


def touched(action, side: str) -> str:
    """``image:key`` of each mask the action left (content key of the journal)."""
    from napari_noisyfix.review.journal import state_key

    states = getattr(action, side)
    return ",".join(f"{n}:{state_key('mask', states[n].mask)}" for n in sorted(states))


# ---------------------------------------------------------------------- the parent
def run_child(root: Path, seed: int, delay: float) -> tuple[list[str], bool]:
    """Start a child, kill it ``delay`` seconds after it is ready; its lines, whether killed."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, __file__, "--child", str(root), "--seed", str(seed)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    ready = threading.Event()

    def read():
        for line in proc.stdout:
            lines.append(line.strip())
            if line.startswith(READY):
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    ready.wait(timeout=600)
    time.sleep(delay)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    reader.join(timeout=60)
    err = proc.stderr.read()
    proc.stderr.close()
    if not killed:
        raise SystemExit(f"child ended by itself ({proc.returncode}): {err[-2000:]}")
    return lines, killed


def expected_stamps(project) -> dict:
    """Per image, the stamp the last committed journaled action left (initial: no files)."""
    from napari_noisyfix.review.journal import Stamp, split_journal

    log = project.log
    rows = [r["id"] for r in log.rows("review")]
    out = {n: Stamp(None, None) for n in project.names}
    for _, states in sorted(log.journal(rows).items()):
        out.update(split_journal(states)[1])
    return out


def audit(project, acks: list[tuple[int, str, str]], seen_rows: set[int]) -> dict:
    """Lost, half-applied and integrity figures of the project after one kill."""
    from napari_noisyfix.review.journal import read_state, same_state, state_key

    log = project.log
    expected = expected_stamps(project)
    half = 0
    now = {}
    for name in project.names:
        stamp, state = read_state(project, name)
        now[name] = state_key("mask", state.mask)
        half += not same_state(project, name, stamp, expected[name])
    committed = {r["id"]: r for r in log.rows("review")}
    last_touch = {}
    for row, states in sorted(log.journal(list(committed)).items()):
        for name in states:
            last_touch[name] = row
    lost = 0
    for row, _, images in acks:
        if row not in committed:
            lost += 1
            continue
        for item in images.split(","):
            name, key = item.split(":")
            if now[name] != key and last_touch.get(name, row) <= row:
                lost += 1
                break
    new_rows = set(committed) - seen_rows
    acked = {row for row, _, _ in acks}
    return {
        "lost": lost,
        "half_applied": half,
        "integrity": log.integrity(),
        "pending": len(log.pending()),
        "committed_unacked": len(new_rows - acked),
        "committed_rows": set(committed),
    }


def parse_acks(lines: list[str]) -> list[tuple[int, str, str]]:
    """``(row, action, images)`` of every complete ACK line."""
    out = []
    for line in lines:
        parts = line.split()
        if len(parts) == 4 and parts[0] == ACK and parts[1].isdigit():
            out.append((int(parts[1]), parts[2], parts[3]))
    return out


def harness(args) -> dict:
    """Run every kill and sum the figures."""
    from napari_noisyfix.project import Project

    work = Path(args.dir or tempfile.mkdtemp(prefix="kill_harness_"))
    root = work / "project"
    t0 = time.perf_counter()
    make_project(root, args.n, args.size, args.seed)
    rng = random.Random(args.seed)
    totals = dict.fromkeys(
        ("kills", "acknowledged", "lost", "half_applied", "corrupt", "pending_after_recovery"), 0
    )
    totals.update(rolled_back=0, committed_unacked=0, errors=0, temp_files_removed=0)
    acked_by_action: Counter = Counter()
    rolled_back_by_action: Counter = Counter()
    seen_rows: set[int] = set()
    for i in range(args.kills):
        lines, _ = run_child(root, args.seed * 1000 + i, rng.uniform(0.05, args.max_delay))
        acks = parse_acks(lines)
        project = Project.open(root)  # recovery
        notes = list(project.notes)
        figures = audit(project, acks, seen_rows)
        project.close()
        seen_rows = figures["committed_rows"]
        totals["kills"] += 1
        totals["acknowledged"] += len(acks)
        acked_by_action.update(kind for _, kind, _ in acks)
        rolled_back_by_action.update(
            n.split("interrupted ")[1].split()[0] for n in notes if "interrupted " in n
        )
        totals["lost"] += figures["lost"]
        totals["half_applied"] += figures["half_applied"]
        totals["corrupt"] += figures["integrity"] != "ok"
        totals["pending_after_recovery"] += figures["pending"]
        totals["committed_unacked"] += figures["committed_unacked"]
        totals["rolled_back"] += sum("rolled back" in n for n in notes)
        totals["temp_files_removed"] += sum("temporary file" in n for n in notes)
        totals["errors"] += sum(line.startswith("ERR") for line in lines)
        print(f"kill {i + 1:3d}: {len(acks):3d} acks, {'; '.join(notes) or 'nothing to recover'}")
    totals["acknowledged_by_action"] = dict(sorted(acked_by_action.items()))
    totals["rolled_back_by_action"] = dict(sorted(rolled_back_by_action.items()))
    totals["seconds"] = round(time.perf_counter() - t0, 1)
    totals["seed"] = args.seed
    return totals


def table(totals: dict) -> str:
    """The figures as a short two-column table."""
    keys = ("kills", "acknowledged", "lost", "half_applied", "corrupt", "pending_after_recovery")
    keys += ("rolled_back", "committed_unacked", "temp_files_removed", "errors", "seconds")
    keys += ("acknowledged_by_action", "rolled_back_by_action")
    width = max(len(k) for k in keys)
    return "\n".join(f"{k:<{width}}  {totals[k]}" for k in keys)


def main(argv=None) -> int:
    """Entry point: the child loop with ``--child``, else the harness."""
    args = parse_args(argv)
    if args.child:
        child(args.child, args.seed)
        return 0
    totals = harness(args)
    print(table(totals))
    if args.out:
        Path(args.out).write_text(json.dumps(totals, indent=2) + "\n")
    bad = totals["lost"] or totals["half_applied"] or totals["corrupt"]
    return 1 if bad or totals["pending_after_recovery"] else 0


if __name__ == "__main__":
    sys.exit(main())
