"""The command line: a thin shell over the library. It is the only part that prints.

Exit codes: 0 success, 1 error (a run failed, a check found problems, a path was not
found), 2 usage (bad flags or configuration), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path
from typing import Any, TextIO

from corral import __version__
from corral.build import clean, collect
from corral.config import Config, load_config
from corral.errors import BuildError, ConfigError, CorralError, Problem, is_configuration_error
from corral.lock import seconds
from corral.progress import ProgressBar

__all__ = ["main", "run"]


class _Style:
    """ANSI styling for a stream, off when it isn't a terminal or NO_COLOR is set."""

    def __init__(self, stream: TextIO) -> None:
        self.on = (
            stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        )

    def __call__(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.on else text


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="configuration file (default: the nearest pyproject.toml with [tool.corral])",
    )
    common.add_argument(
        "--root", metavar="DIR", help="target directory (STATIC_ROOT) that corral owns and fills"
    )
    common.add_argument("--state-dir", metavar="DIR", help="corral's private state (outside it)")
    common.add_argument(
        "--source",
        action="append",
        metavar="[PREFIX=]DIR",
        help="a source directory, optionally under a URL prefix; repeat in "
        "priority order (replaces the configured sources)",
    )
    common.add_argument(
        "--package",
        action="append",
        metavar="[PREFIX=]NAME",
        help="an installed package's static/ directory as a source (repeatable)",
    )
    common.add_argument(
        "--ignore",
        action="append",
        metavar="GLOB",
        help="ignore files and directories matching GLOB by name or relative "
        "path (repeatable; adds to the configured patterns)",
    )
    common.add_argument(
        "--no-default-ignore",
        action="store_true",
        help="don't ignore CVS, .* and *~ (Django's defaults)",
    )
    common.add_argument(
        "--url", metavar="URL", help="URL prefix the root is served under (default /static/)"
    )
    common.add_argument("--json", action="store_true", help="print a machine-readable report")
    common.add_argument(
        "-v", "--verbose", action="count", default=0, help="say more (repeat for even more)"
    )
    common.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    common.add_argument("--target", metavar="s3://BUCKET/PREFIX", help="object storage, not root")

    parser = argparse.ArgumentParser(
        prog="corral",
        description="Collect a web app's static files atomically and incrementally.",
    )
    parser.add_argument("--version", action="version", version=f"corral {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser(
        "collect",
        parents=[common],
        help="collect all sources into the root",
        description="Collect every source file into the root as a new "
        "release. Unchanged files are neither read nor written.",
    )
    p.add_argument(
        "-n",
        "--dry-run",
        action="store_true",
        help="print the plan (new / changed / unchanged / to prune); write nothing",
    )
    p.add_argument(
        "-c",
        "--clear",
        action="store_true",
        help="after the new release is complete, delete every file not in it",
    )
    p.add_argument(
        "--no-hash",
        action="store_true",
        help="don't fingerprint: no hashed copies, rewritten references or manifests",
    )
    p.add_argument("--no-compress", action="store_true", help="make no gzip/brotli/zstd variants")
    p.add_argument(
        "--compress-after",
        action="store_true",
        help='publish first, then the variants as a follow-up release (compress = "after")',
    )
    _cache_options(p)
    p.add_argument("--strict", action="store_true", help="make duplicate logical paths an error")
    p.add_argument(
        "--keep",
        type=_count,
        metavar="N",
        help="releases to keep before the current one when pruning (default 2)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="adopt a non-empty root corral does not own, replace files in the "
        "way; with --clear also delete files corral did not write",
    )
    _wait_option(p)

    p = commands.add_parser(
        "find",
        parents=[common],
        help="show which source provides a path",
        description="Show which source provides a logical path (or URL), "
        "and which files it shadows.",
    )
    p.add_argument("path", help="logical path (css/app.css) or URL (/static/css/app.css)")

    p = commands.add_parser(
        "clean",
        parents=[common],
        help="prune files of old releases",
        description="Delete files corral wrote that no kept release references.",
    )
    p.add_argument(
        "--keep",
        type=_count,
        metavar="N",
        help="releases to keep before the current one (default: configured, or 2)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="also delete files corral did not write (placed by hand)",
    )
    p.add_argument("-n", "--dry-run", action="store_true", help="show what would be deleted")
    _wait_option(p)

    p = commands.add_parser(
        "compress",
        help="precompress a directory built by another tool",
        description="Write .gz, .br and .zst variants next to every file under DIR that "
        "gains from compression (same engine and cache as collect; a re-run writes nothing).",
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="the directory to precompress")
    _cache_options(p)
    for name in ("gzip", "brotli", "zstd"):
        p.add_argument(f"--no-{name}", action="store_true", help=f"don't write {name} variants")
    p.add_argument("-n", "--dry-run", action="store_true", help="list what would be compressed")
    p.add_argument("--json", action="store_true", help="print a machine-readable report")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors")

    p = commands.add_parser(
        "webserver",
        help="print an nginx or Caddy configuration serving the root",
        description="Print the configuration that serves exactly the files the root's "
        "corral-manifest.json lists: a snippet for a server block, or with --listen a "
        "complete file (nginx -p DIR -c FILE; caddy run --config FILE).",
    )
    p.add_argument("server", choices=["nginx", "caddy"], help="the web server")
    p.add_argument("--root", type=Path, required=True, metavar="DIR", help="the collected root")
    p.add_argument("--url", metavar="PREFIX", help="URL prefix (default: the manifest's)")
    p.add_argument("--listen", metavar="HOST:PORT", help="print a complete configuration")
    p.add_argument(
        "--part",
        choices=["http", "server"],
        help="nginx: only the map for http {} or only the location for server {}",
    )
    p.add_argument(
        "--max-age", type=_count, default=60, metavar="SECONDS", help="caching of unhashed names"
    )
    p.add_argument("--json", action="store_true", help="print the configuration inside JSON")

    p = commands.add_parser(
        "cache",
        help="show or prune the shared compression cache",
        description="The compression cache shared by every project (--cache-dir, else "
        "$CORRAL_CACHE_DIR, else cache_dir in [tool.corral], else ~/.cache/corral).",
    )
    p.add_argument("--json", action="store_true", help="print a machine-readable report")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, text in (("info", "what the cache holds"), ("prune", "remove entries")):
        a = actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        a.add_argument("--cache-dir", metavar="DIR", help="the cache directory")
        a.add_argument("--config", type=Path, metavar="FILE", help="configuration file")
        a.add_argument(
            "--json",
            action="store_true",
            default=argparse.SUPPRESS,  # never overrides `corral cache --json ACTION`
            help="print a machine-readable report",
        )
        if name == "prune":
            a.add_argument(
                "--max-size",
                metavar="SIZE",
                help="remove the least recently used contents until the cache holds at "
                "most SIZE (e.g. 500M, 2G)",
            )
            a.add_argument(
                "--older-than",
                metavar="AGE",
                help="remove contents not used for AGE (e.g. 30d, 12h)",
            )
            a.add_argument("-n", "--dry-run", action="store_true", help="only say what would go")

    p = commands.add_parser(
        "check",
        parents=[common],
        help="report configuration and target problems",
        description="Report configuration problems, conflicts, files placed in "
        "the root by hand or changed there, and a root tracked by git.",
    )
    p.add_argument("--deep", action="store_true", help="also re-read every published file")
    return parser


def _cache_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache-dir",
        "--cache",
        dest="cache_dir",
        metavar="DIR",
        help="the shared compression cache (default: $CORRAL_CACHE_DIR, else cache_dir "
        "in [tool.corral], else $XDG_CACHE_HOME/corral)",
    )
    parser.add_argument("--no-cache", action="store_true", help="compress without the shared cache")
    parser.add_argument(
        "--jobs",
        "-j",
        type=_count,
        metavar="N",
        help="compression threads (default: the CPUs available to this process)",
    )


def _wait_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait",
        type=seconds,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for another run's lock instead of failing at once",
    )


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _config(args: argparse.Namespace) -> Config:
    overrides: dict[str, Any] = {}
    for key in ("root", "state_dir", "target", "url"):
        if getattr(args, key, None) is not None:
            overrides[key] = getattr(args, key)
    sources: list[Any] = list(args.source or [])
    for spec in args.package or []:
        prefix, sep, name = spec.partition("=")
        sources.append({"package": name, "prefix": prefix} if sep else {"package": spec})
    if sources:
        overrides["sources"] = sources
    if args.ignore:
        overrides["ignore"] = args.ignore
    if args.no_default_ignore:
        overrides["default_ignore"] = False
    if getattr(args, "strict", False):
        overrides["strict"] = True
    if getattr(args, "no_hash", False):
        overrides["hash"] = False
    if getattr(args, "no_compress", False):
        overrides["compress"] = False
    if getattr(args, "cache_dir", None) is not None:
        overrides["cache_dir"] = args.cache_dir
    if getattr(args, "no_cache", False):
        overrides["cache"] = False
    if getattr(args, "jobs", None):
        overrides["jobs"] = args.jobs
    if getattr(args, "keep", None) is not None and args.command == "collect":
        overrides["keep"] = args.keep
    return load_config(args.config, overrides=overrides)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    out, err = sys.stdout, sys.stderr
    style = _Style(err)
    try:
        if args.command == "compress":
            return _compress(args, out)
        if args.command == "cache":
            return _cache(args, out)
        if args.command == "webserver":
            return _webserver(args, out)
        config = _config(args)
        s3: Any = import_module("corral.targets.s3admin") if config.target else None
        if args.command == "collect":
            return _collect(config, args, out, err, style)
        if args.command == "clean":
            report = (s3.clean if s3 else clean)(
                config, keep=args.keep, force=args.force, dry_run=args.dry_run, wait=args.wait
            )
            if args.json:
                _dump(report.to_dict(), out)
            elif not args.quiet:
                verb = "Would delete" if args.dry_run else "Deleted"
                files = report.pruned + report.unowned_removed
                out.write(
                    f"{verb} {len(files):,} file(s) in {report.root}; keeping release(s) "
                    f"{', '.join(map(str, report.kept_releases)) or 'none'}\n"
                )
                if args.verbose:
                    out.writelines(f"  {p}\n" for p in files)
            return 0
        if args.command == "find":
            from corral.lookup import find  # noqa: PLC0415 - only this command needs it

            found = find(config, args.path)
            if args.json:
                _dump(found.to_dict(), out)
            elif found.winner is not None:
                out.writelines(f"{line}\n" for line in found.describe())
            else:  # excluded by ignore patterns, or in no source at all
                label = style("ignored", "33") if found.ignored else style("not found", "31")
                err.writelines(f"{label}: {line}\n" for line in found.describe())
            return 0 if found.winner is not None else 1
        from corral.diagnose import check  # noqa: PLC0415 - only this command needs it

        result = (s3.check if s3 else check)(config, deep=args.deep)
        if args.json:
            _dump(result.to_dict(), out)
        else:
            for p in result.problems:
                _problem(err, style, "problem", p)
            if not args.quiet:
                for w in result.warnings:
                    _problem(err, style, "warning", w)
                count = len(result.problems)
                out.write(f"{count} problem(s) found.\n" if count else "No problems found.\n")
        return 0 if result.ok else 1
    except CorralError as exc:
        if args.json:
            _dump(exc.to_dict(), out)
        _error(err, style, exc)
        return 2 if is_configuration_error(exc) else 1
    except KeyboardInterrupt:
        err.write("interrupted; the previous release is untouched\n")
        return 130


def _collect(
    config: Config, args: argparse.Namespace, out: TextIO, err: TextIO, style: _Style
) -> int:
    bar = ProgressBar(err, enabled=not (args.quiet or args.json))
    config = config.with_overrides(compress_after=config.compress_after or args.compress_after)
    run: Any = collect if config.target is None else import_module("corral.targets.s3").publish
    try:
        report = run(
            config,
            dry_run=args.dry_run,
            clear=args.clear,
            force=args.force,
            wait=args.wait,
            progress=bar,
        )
    finally:
        bar.close()
    if args.json:
        _dump(report.to_dict(), out)
        return 0
    if not args.quiet:
        for w in report.warnings:
            _problem(err, style, "warning", w)
        for c in report.conflicts:
            shadowed = ", ".join(f.path for f in c.shadowed)
            err.write(
                f"{style('conflict', '33')}: {c.logical!r} comes from {c.winner.path}; "
                f"ignoring {shadowed}\n"
            )
        out.writelines(report.summary(args.verbose))
    return 0


def _webserver(args: argparse.Namespace, out: TextIO) -> int:
    from corral.manifest import CORRAL_MANIFEST, read_manifest  # noqa: PLC0415
    from corral.serve.webserver import caddy_config, nginx_config  # noqa: PLC0415

    manifest = read_manifest(args.root / CORRAL_MANIFEST)
    url = args.url or manifest.url
    if args.server == "nginx":
        text = nginx_config(
            args.root, url, listen=args.listen, max_age=args.max_age, part=args.part,
            manifest=manifest,
        )  # fmt: skip
    else:
        text = caddy_config(args.root, url, listen=args.listen, max_age=args.max_age,
                            manifest=manifest)  # fmt: skip
    if args.json:
        _dump({"server": args.server, "url": url, "release": manifest.release, "config": text}, out)
    else:
        out.write(text)
    return 0


def _compress(args: argparse.Namespace, out: TextIO) -> int:
    from corral.compress import CompressionOptions  # noqa: PLC0415 - only this command
    from corral.compress.tree import compress_tree  # noqa: PLC0415

    options = CompressionOptions(
        gzip=not args.no_gzip, brotli=not args.no_brotli, zstd=not args.no_zstd
    )
    from corral.compress.location import resolve_cache_dir  # noqa: PLC0415

    report = compress_tree(
        args.dir,
        options,
        cache_dir=None if args.no_cache else resolve_cache_dir(args.cache_dir),
        workers=args.jobs or None,
        dry_run=args.dry_run,
    )
    if args.json:
        _dump(report.to_dict(), out)
    elif not args.quiet:
        out.write(
            f"{args.dir}: {len(report.written):,} variant(s) written, {report.unchanged:,} "
            f"already up to date ({report.computed:,} compressed, {report.cache_hits:,} from "
            f"the cache) for {report.files:,} file(s)\n"
        )
    return 0


def _cache(args: argparse.Namespace, out: TextIO) -> int:
    import time  # noqa: PLC0415 - only this command

    from corral.compress import CompressionCache  # noqa: PLC0415
    from corral.compress.location import (  # noqa: PLC0415
        parse_age,
        parse_size,
        resolve_cache_dir,
        variants_dir,
    )
    from corral.compress.maintenance import cache_info, prune_cache  # noqa: PLC0415
    from corral.config import configured_cache_dir  # noqa: PLC0415

    directory = resolve_cache_dir(args.cache_dir, configured_cache_dir(args.config))
    cache = CompressionCache(variants_dir(directory))
    if args.action == "info":
        info = cache_info(cache)
        if args.json:
            _dump({**info.to_dict(), "root": str(directory)}, out)
            return 0
        used = ""
        if info.oldest_use is not None:
            oldest = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.oldest_use))
            used = f"; least recently used {oldest}"
        linked = ""
        if info.linked_bytes:
            linked = f" ({_size(info.linked_bytes)} of it also linked from targets)"
        out.write(
            f"{directory}: {info.contents:,} content(s), {info.files:,} file(s), "
            f"{_size(info.bytes)}{linked}{used}\n"
        )
        return 0
    if args.max_size is None and args.older_than is None:
        raise ConfigError(
            "corral cache prune needs --max-size SIZE, --older-than AGE or both",
            hint="e.g. corral cache prune --max-size 2G --older-than 30d",
        )
    max_size = None if args.max_size is None else parse_size(args.max_size, key="--max-size")
    age = None if args.older_than is None else parse_age(args.older_than, key="--older-than")
    stats = prune_cache(cache, max_size=max_size, older_than=age, dry_run=args.dry_run)
    if args.json:
        counts = {"contents": stats.contents, "files": stats.files, "bytes": stats.bytes}
        _dump({"root": str(directory), "dry_run": args.dry_run, **counts}, out)
        return 0
    verb = "Would remove" if args.dry_run else "Removed"
    out.write(
        f"{verb} {stats.contents:,} content(s), {stats.files:,} file(s), "
        f"{_size(stats.bytes)} from {directory}\n"
    )
    return 0


def _size(count: int) -> str:
    if count < 1024:
        return f"{count:,} bytes"
    value, unit = count / 1024, "KiB"
    for bigger in ("MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:,.1f} {unit}"


def _problem(err: TextIO, style: _Style, label: str, p: Problem) -> None:
    color = "31" if label in ("error", "problem") else "33"
    err.write(f"{style(label, color)}: {p}\n")


def _error(err: TextIO, style: _Style, exc: CorralError) -> None:
    if isinstance(exc, BuildError):
        count = len(exc.problems)
        err.write(
            f"{style('ERROR', '1;31')}: {count} problem{'s' if count != 1 else ''} found; "
            "nothing was published\n"
        )
        for p in exc.problems:
            _problem(err, style, "  problem", p)
        return
    err.write(f"{style('ERROR', '1;31')}: {exc.message}\n")
    if isinstance(exc, ConfigError) and exc.where:
        err.write(f"  in: {exc.where}\n")
    if exc.hint:
        err.write(f"  hint: {exc.hint}\n")


def _dump(data: object, out: TextIO) -> None:
    json.dump(data, out, indent=2, sort_keys=False)
    out.write("\n")


def run() -> None:
    """Console-script entry point."""
    raise SystemExit(main())
