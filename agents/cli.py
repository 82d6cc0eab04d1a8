"""The agents' subcommands of ``metaspatial``: ``demo``, ``eval``, ``compare`` and ``serve-policy``.

:mod:`metaspatial_env.cli` dispatches to the ``add_*`` functions by name: each adds one
subcommand's arguments to the parser it is given and sets ``func``, the handler that runs it and
returns the exit status. Imports that pull in more than the standard library happen in the
handlers, so ``metaspatial eval --help`` stays light.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from pathlib import Path

DEFAULT_DEMO_POLICIES = "heuristic,random"



def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1 (``--rooms 0`` is a usage error, not a division by zero)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value

def _pick_rooms(tasks, count: int) -> list[str]:
    """The first room of each room type, in split order, then more until ``count``."""
    chosen, seen = [], set()
    for task in tasks:
        if task.room_type not in seen:
            chosen.append(task.id)
            seen.add(task.room_type)
    chosen += [t.id for t in tasks if t.id not in chosen]
    return chosen[:count]


def demo(args: argparse.Namespace) -> int:
    """Run each policy on the same rooms; write per-turn images (and with --export the scenes as
    .glb), metrics.json and index.html."""
    import gymnasium as gym
    from PIL import Image
    from tqdm import tqdm

    import metaspatial_env  # noqa: F401  (registers the ids)
    from agents import make_policy
    from agents.runner import run_episode
    from metaspatial_env.deps import require
    from metaspatial_env.tasks.splits import load_split

    if args.export:  # before any episode is played, not after the first
        require("trimesh", "export", "--export")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    room_ids = _pick_rooms(load_split(args.split), args.rooms)
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    renderer = {"renderer": args.renderer} if args.renderer else {}
    env = gym.make(args.env, split=args.split, max_turns=args.turns, **renderer)
    report: dict = {"env": args.env, "split": args.split, "turns": args.turns, "policies": {}}
    try:
        with tqdm(total=len(policies) * len(room_ids), desc="demo episodes", unit="room") as bar:
            for name in policies:
                policy = make_policy(name, seed=args.seed) if name == "random" else make_policy(name)
                episodes = []
                for i, room_id in enumerate(room_ids):
                    folder = out / name.replace(":", "_").replace("/", "_") / room_id
                    record = run_episode(env, policy, task_id=room_id, seed=args.seed + i, keep_images=True,
                                         export_dir=folder if args.export else None)
                    folder.mkdir(parents=True, exist_ok=True)
                    images = []
                    for turn in record.turns:
                        path = folder / f"turn_{turn.turn}.png"
                        Image.fromarray(turn.image).save(path)
                        images.append(str(path.relative_to(out)))
                    summary = record.summary() | {"images": images}
                    if args.export:
                        summary["scenes"] = [str(t.scene.relative_to(out)) for t in record.turns]
                    episodes.append(summary)
                    bar.set_postfix(policy=name, success=summary["success"])
                    bar.update()
                report["policies"][name] = {
                    "success_rate": sum(e["success"] for e in episodes) / len(episodes),
                    "mean_final_total": sum(e["final_total"] for e in episodes) / len(episodes),
                    "episodes": episodes,
                }
    finally:
        env.close()
    (out / "metrics.json").write_text(json.dumps(report, indent=2))
    (out / "index.html").write_text(demo_html_report(report))
    for name, result in report["policies"].items():
        print(f"{name:>12}: success {result['success_rate']:.0%}, mean final reward {result['mean_final_total']:.3f}")
    print(f"wrote {out / 'index.html'} and {out / 'metrics.json'}")
    return 0


def demo_html_report(report: dict) -> str:
    """The demo's index.html: a summary table, then every episode's turns with image and feedback."""
    esc = html.escape
    parts = ["<!doctype html><meta charset='utf-8'><title>metaspatial demo</title>",
             "<style>body{font-family:sans-serif;margin:2em}img{width:640px;border:1px solid #ccc}"
             "pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em;max-width:900px}</style>",
             f"<h1>metaspatial demo: {esc(report['env'])}, split {esc(report['split'])}</h1>",
             "<table border=1 cellpadding=4><tr><th>policy</th><th>success</th><th>mean final reward</th></tr>"]
    for name, result in report["policies"].items():
        parts.append(f"<tr><td>{esc(name)}</td><td>{result['success_rate']:.0%}</td>"
                     f"<td>{result['mean_final_total']:.3f}</td></tr>")
    parts.append("</table>")
    for name, result in report["policies"].items():
        parts.append(f"<h2>{esc(name)}</h2>")
        for ep in result["episodes"]:
            parts.append(f"<h3>{esc(ep['task_id'])} ({esc(ep['room_type'])}): "
                         f"{'success' if ep['success'] else 'no success'}, final reward {ep['final_total']:.3f}</h3>")
            for turn, image in zip(ep["turns"], ep["images"]):
                parts.append(f"<p>turn {turn['turn']}: reward {turn['reward']:.3f}</p><img src='{esc(image)}'>"
                             f"<pre>{esc(turn['feedback'])}</pre>")
    return "\n".join(parts)


def json_object(text: str) -> dict:
    """An argparse type: a JSON object (anything else is a usage error naming the flag)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value


def evaluate(args: argparse.Namespace) -> int:
    """Evaluate one policy over a split; write episodes.jsonl (as it goes), results.json,
    episodes.csv and report.html.

    A folder that cannot take the run (another run's results without --resume, not writable, a run
    with other settings) is bad input: one line, exit 2 (:func:`metaspatial_env.cli.main`). Ctrl-C
    or SIGTERM: results.json is marked partial, one line says how to continue (--resume), exit 130.
    Any other failure also leaves results.json partial before main reports it.
    """
    import signal

    from agents.eval_metrics import METRIC_LABELS, Estimate
    from agents.evaluate import EPISODES_JSONL, EvalConfig, register_config_secrets
    from agents.evaluate import evaluate as run_evaluation
    from agents.refinement import HEADLINE

    if args.export:  # before any episode is played, not in every worker
        from metaspatial_env.deps import require

        require("trimesh", "export", "--export")
    out = Path(args.out)
    config = EvalConfig(policy=args.policy, split=args.split, min_objects=args.min_objects,
                        max_objects=args.max_objects, episodes=args.episodes, turns=args.turns,
                        workers=args.workers, env_id=args.env, env_kwargs=args.env_kwargs,
                        policy_kwargs=args.policy_kwargs, seed=args.seed, images=not args.no_images,
                        export=args.export)
    register_config_secrets(config)
    try:  # SIGTERM (a scheduler, `kill`) ends the run like Ctrl-C: partial results, resumable
        previous = signal.signal(signal.SIGTERM, _sigterm_interrupts)
    except ValueError:  # not the main thread
        previous = None
    try:
        results = run_evaluation(config, out, resume=args.resume)
    except KeyboardInterrupt:
        print(f"metaspatial eval: interrupted; the finished episodes are in {out / EPISODES_JSONL} and "
              f"{out / 'results.json'} is marked partial; rerun with --resume to continue", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    for name, metric in results["metrics"].items():
        print(f"{METRIC_LABELS.get(name, name):>26}: {Estimate(**metric).format()}")
    for name in HEADLINE:
        if name in results["refinement"]:
            print(f"{HEADLINE[name]:>26}: {Estimate(**results['refinement'][name]).format()}")
    steps = results["judge_steps"]
    if steps["steps"]:
        print(f"{'judge failures':>26}: {steps['failed']} of {steps['steps']} judged steps got no grade "
              f"(mean reward per turn counts the {steps['graded']} graded ones; see judge_error in episodes.csv)")
    print(f"wrote {out / 'results.json'} (complete, {results['episodes_done']} episodes), "
          f"{EPISODES_JSONL}, episodes.csv and report.html")
    return 0


def _sigterm_interrupts(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def compare(args: argparse.Namespace) -> int:
    """Print a markdown leaderboard of eval results (and each one's room-by-room difference from the
    first where they share rooms) and plot reward per turn."""
    from agents.compare import leaderboard, load_results, paired_table, plot_reward_per_turn, repair_by_kind

    try:
        results = load_results(args.results)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    print(leaderboard(results))
    for table in (repair_by_kind(results), paired_table(results)):
        if table:
            print("\n" + table)
    plot_reward_per_turn(results, Path(args.plot))
    print(f"\nwrote {args.plot}")
    return 0


def serve_policy(args: argparse.Namespace) -> int:
    """Serve a policy as an OpenAI-compatible /v1/chat/completions endpoint."""
    from agents.server import serve

    try:
        serve(args.policy, host=args.host, port=args.port, policy_kwargs=args.policy_kwargs, token=args.token,
              max_body_bytes=args.max_body_bytes, max_image_pixels=args.max_image_pixels)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


def add_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policies", default=DEFAULT_DEMO_POLICIES, help="comma-separated policy names")
    p.add_argument("--env", default="MetaSpatial-v0", help="registered env id (MetaSpatial-v0 renders with Blender)")
    p.add_argument("--renderer", default=None, help="override the env's renderer: blender or raster")
    p.add_argument("--split", default="test")
    p.add_argument("--rooms", type=positive_int, default=8, help="how many rooms (one per room type first)")
    p.add_argument("--turns", type=positive_int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="out/demo")
    p.add_argument("--export", action="store_true", help="also write each turn's settled layout as a glTF "
                   "binary (<room>_turn<N>.glb, next to its image; needs the export extra)")
    p.set_defaults(func=demo)


def add_eval(e: argparse.ArgumentParser) -> None:
    e.add_argument("--policy", required=True, help="policy name, e.g. heuristic, openai:gpt-4o, hf:PATH")
    e.add_argument("--split", default="test", help="a bundled split or generated:FIRST_SEED:COUNT")
    e.add_argument("--min-objects", type=positive_int, default=None, help="only rooms with at least this many objects")
    e.add_argument("--max-objects", type=positive_int, default=None, help="only rooms with at most this many objects")
    e.add_argument("--episodes", type=positive_int, default=None, help="rooms, in split order (default: all)")
    e.add_argument("--turns", type=positive_int, default=3)
    e.add_argument("--workers", type=positive_int, default=1, help="spawned worker processes")
    e.add_argument("--env", default="MetaSpatial-Fast-v0", help="registered env id")
    e.add_argument("--env-kwargs", type=json_object, default={}, help='JSON, e.g. \'{"judge": {"model": "gpt-4o"}}\'')
    e.add_argument("--policy-kwargs", type=json_object, default={}, help="JSON keyword arguments of the policy")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--no-images", action="store_true", help="do not save per-turn images")
    e.add_argument("--export", action="store_true", help="also write each turn's settled layout as a glTF "
                   "binary (scenes/<room>_turn<N>.glb; needs the export extra)")
    e.add_argument("--out", default="out/eval", help="output folder; a fresh run refuses one holding "
                   "another run's results")
    e.add_argument("--resume", action="store_true", help="continue the (partial) run in --out: episodes "
                   "already in its episodes.jsonl are not played again")
    e.set_defaults(func=evaluate)


def add_compare(c: argparse.ArgumentParser) -> None:
    c.add_argument("results", nargs="+", help="results.json files or eval output folders; later ones are "
                   "also compared room by room with the first")
    c.add_argument("--plot", default="reward_per_turn.png", help="PNG to write")
    c.set_defaults(func=compare)


#: serve-policy's bounds (agents.server's DEFAULT_MAX_BODY_BYTES / DEFAULT_MAX_IMAGE_PIXELS, kept
#: here so that ``serve-policy --help`` does not import the server).
SERVE_MAX_BODY_BYTES = 16 * 1024 * 1024
SERVE_MAX_IMAGE_PIXELS = 4096 * 4096


def add_serve_policy(s: argparse.ArgumentParser) -> None:
    s.add_argument("policy", help="policy name, e.g. heuristic or hf:PATH")
    s.add_argument("--host", default="127.0.0.1", help="a non-loopback host without a token is warned about")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--policy-kwargs", type=json_object, default={}, help="JSON keyword arguments of the policy")
    s.add_argument("--token", default=None, help="require 'Authorization: Bearer TOKEN' on every request "
                   "(default: $METASPATIAL_POLICY_TOKEN, which keeps it out of the process list)")
    s.add_argument("--max-body-bytes", type=int, default=SERVE_MAX_BODY_BYTES,
                   help="larger request bodies are refused with 413 (default: %(default)s, 16 MiB)")
    s.add_argument("--max-image-pixels", type=int, default=SERVE_MAX_IMAGE_PIXELS,
                   help="images declaring more pixels are refused with 400 before decoding (default: %(default)s)")
    s.set_defaults(func=serve_policy)
