"""``manage.py collectstatic`` on corral.

Django's options, prompt, messages, summary line and exit codes; corral's run
underneath: one scan, content-based change detection, fingerprinting, atomic
publish, releases. ``--clear`` prunes *after* the new release is in place. For a
storage corral can't stand in for (not on the local file system, or with its own
post-processing), Django's own collection runs, through the Storage API.
"""

from __future__ import annotations

import json
import os
from typing import Any

import django
from django.contrib.staticfiles.management.commands import collectstatic as _django
from django.contrib.staticfiles.utils import matches_patterns
from django.core.management.base import CommandError

from corral.errors import BuildError, CorralError
from corral.gcpause import skip_final_collection
from corral.progress import ProgressBar

__all__ = ["Command"]

#: Django 6.0 added the "deleted" and "skipped" counts to the summary line (and the
#: lists behind them to ``collect()``'s result), and logs conflicts and ``--clear``'s
#: deletions at verbosity 2 instead of 1.
_SUMMARY_COUNTS = django.VERSION >= (6, 0)
_QUIET_LEVEL = 2 if _SUMMARY_COUNTS else 1


class Command(_django.Command):
    help = "Collect static files in a single location (with corral)."

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--keep",
            type=int,
            metavar="N",
            help="Keep the N releases before this one when pruning (default: the "
            "storage's 'keep' option, else 2).",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print corral's report as JSON instead of the summary line.",
        )

    def run_from_argv(self, argv: list[str]) -> None:
        """Run as ``manage.py collectstatic``: the process ends when the command does,
        so it skips the interpreter's last garbage collection (0.15 s in a project
        with 1,200 modules; see :func:`corral.gcpause.skip_final_collection`)."""
        skip_final_collection()
        super().run_from_argv(argv)

    def set_options(self, **options: Any) -> None:
        super().set_options(**options)
        self.keep = options.get("keep")
        self.json = options.get("json", False)
        self.report: Any = None
        self.setup: Any = None

    def handle(self, **options: Any) -> str | None:
        summary = super().handle(**options)
        if self.json:
            if self.report is not None:
                data = self.report.to_dict()
            else:  # Django's own collection ran (see corral.W001)
                data = {
                    "collected_by": "django",
                    "reason": self.setup.reason if self.setup is not None else "",
                    "counts": {
                        "modified": len(self.copied_files) + len(self.symlinked_files),
                        "unmodified": len(self.unmodified_files),
                    },
                }
            data["post_processed"] = len(self.post_processed_files)
            return json.dumps(data, indent=2)
        if summary and self.report is not None and self.verbosity >= 2:
            timings = ", ".join(f"{k} {v:.3f}" for k, v in self.report.timings.items())
            summary += f"\ncorral: release {self.report.release}; {timings} s"
        return summary  # type: ignore[no-any-return]

    def log(self, msg: str, level: int = 2) -> None:
        """Django's log; with ``--json`` on stderr, so that stdout is the report alone."""
        if self.json:
            if self.verbosity >= level:
                self.stderr.write(msg)
            return
        super().log(msg, level)

    def collect(self) -> dict[str, list[str]]:
        from corral.contrib.django.conf import configure  # noqa: PLC0415

        if self.symlink and not self.local:
            raise CommandError("Can't symlink to a remote destination.")
        try:
            setup = configure(
                self.storage,
                link=self.symlink,
                post_process=self.post_process,
                ignore_patterns=self.ignore_patterns,
                keep=self.keep,
            )
        except CorralError as exc:
            raise CommandError(_describe(exc)) from None
        self.setup = setup
        if setup.config is None:
            self.log(f"corral: Django collects: {setup.reason}", level=2)
            return super().collect()  # type: ignore[no-any-return]
        return self._collect_with_corral(setup)

    def _collect_with_corral(self, setup: Any) -> dict[str, list[str]]:
        config = setup.config
        collect: Any
        if config.target is not None:  # CorralS3Storage: build, then publish to the bucket
            from corral.targets.s3 import publish as collect  # noqa: PLC0415
        else:
            from corral.build import collect  # noqa: PLC0415
        # The bar writes to the stream under Django's wrapper (which would add newlines).
        progress = ProgressBar(self.stderr._out, enabled=self.verbosity >= 1)
        try:
            report = collect(
                config,
                dry_run=self.dry_run,
                clear=self.clear,
                force=True,  # Django overwrites what is there: the prompt said so
                wait=_lock_wait(),
                progress=progress,
            )
        except CorralError as exc:
            raise CommandError(_describe(exc)) from None
        finally:
            progress.close()
        remote = None
        if config.target is not None:  # the bucket's plan; Django's counts are the build's
            remote, report = report, report.build
        self.report = report
        self._log_run(report, config, quiet_copies=remote is not None)
        if remote is not None:
            self._log_remote(remote)
        modified = sorted(report.new + report.changed + report.repaired)
        (self.symlinked_files if self.symlink else self.copied_files).extend(modified)
        self.unmodified_files.extend(report.unchanged)
        if config.hash:
            self._refresh_manifest(config, written=set(modified))
        collected = {
            "modified": self.copied_files + self.symlinked_files,
            "unmodified": self.unmodified_files,
            "post_processed": self.post_processed_files,
        }
        if _SUMMARY_COUNTS:
            # Django 6 counts each file a conflict shadowed, and what --clear deleted.
            self.skipped_files.extend(
                conflict.logical for conflict in report.conflicts for _ in conflict.shadowed
            )
            if self.clear:
                self.deleted_files.extend(report.pruned)
            collected["skipped"] = self.skipped_files
            collected["deleted"] = self.deleted_files
        return collected

    def _log_remote(self, remote: Any) -> None:
        """The bucket's plan (``--dry-run``) or what was uploaded, as ``corral collect``."""
        upload, prune = ("Would upload", "Would prune") if self.dry_run else ("Uploaded", "Pruned")
        level = 1 if self.dry_run else 2
        for key in remote.upload:
            self.log(f"{upload} '{key}'", level=level)
        for key in remote.pruned:
            self.log(f"{prune} '{key}' (no kept release uses it)", level=level)
        for key in remote.unchanged:
            self.log(f"Unchanged '{key}'", level=3)
        self.log(remote.summary()[0].rstrip("\n"), level=1)

    def _log_run(self, report: Any, config: Any, *, quiet_copies: bool = False) -> None:
        for conflict in report.conflicts:
            for _ in conflict.shadowed:
                self.log(
                    f"Found another file with the destination path '{conflict.logical}'. It "
                    "will be ignored since only the first encountered file is collected. If "
                    "this is not what you want, make sure every static file has a unique path.",
                    level=_QUIET_LEVEL,
                )
        sources = {}
        if self.verbosity >= 2 or (self.dry_run and self.verbosity >= 1):
            from corral.build import load_sources  # noqa: PLC0415

            if report.new or report.changed or report.repaired:
                sources = {k: f.path for k, f in load_sources(config).files.items()}
        verb = "link" if self.symlink else "copy"
        for name in () if quiet_copies else sorted(report.new + report.changed + report.repaired):
            source = sources.get(name, name)
            if self.dry_run:
                self.log(f"Pretending to {verb} '{source}'", level=1)
            else:
                self.log(f"{'Linking' if self.symlink else 'Copying'} '{source}'", level=2)
        if self.verbosity >= 2:  # one line per file: not even formatted below that
            for name in report.unchanged:
                self.log(f"Skipping '{name}' (not modified)", level=2)
        for problem in report.warnings:
            self.stderr.write(f"warning: {problem}")
        if self.clear:  # Django's --clear messages
            action = "Pretending to delete" if self.dry_run else "Deleting"
            for name in report.pruned:
                self.log(f"{action} '{name}'", level=_QUIET_LEVEL)
        else:  # corral's own pruning of releases beyond --keep
            action = "Would prune" if self.dry_run else "Pruned"
            for name in report.pruned:
                self.log(f"{action} '{name}' (no kept release uses it)", level=2)

    def _refresh_manifest(self, config: Any, written: set[str]) -> None:
        """Load the new manifest into the storage, as Django's post-processing leaves it.

        The files counted as post-processed are the ones Django's post-processing would
        count: every file its patterns rewrite (``*.css``, ``*.js``: Django rewrites those
        on every run, changed or not) and every other file whose hashed copy is new in this
        run (a new or changed file). The rest are "Skipped post-processing", as in Django.
        """
        storage = self.storage
        if self.dry_run:
            return
        # The manifest this run published, in STATIC_ROOT: not load_manifest(), which
        # reads manifest_storage, where the new manifest is not (yet) when that is elsewhere.
        with open(os.path.join(config.root, config.manifest_name), "rb") as fh:
            stored = json.load(fh)
        hashed_files = stored.get("paths", {})
        storage.hashed_files = hashed_files
        storage.manifest_hash = stored.get("hash", "")
        manifest_storage = getattr(storage, "manifest_storage", storage)
        if getattr(manifest_storage, "location", None) != storage.location:
            storage.save_manifest()  # a manifest kept elsewhere (manifest_storage)
        rewritten = [extension for extension, _ in getattr(storage, "patterns", ())]
        verbose = self.verbosity >= 2  # one line per file: not even formatted below that
        for name in sorted(hashed_files):
            if name in written or matches_patterns(name, rewritten):
                self.post_processed_files.append(name)
                if verbose:
                    self.log(f"Post-processed '{name}' as '{hashed_files[name]}'", level=2)
            elif verbose:
                self.log(f"Skipped post-processing '{name}'", level=2)


def _lock_wait() -> float:
    value = os.environ.get("CORRAL_LOCK_WAIT", "").strip()
    try:
        wait = float(value) if value else 0.0
    except ValueError:
        wait = -1.0
    if wait < 0:
        raise CommandError(
            f"CORRAL_LOCK_WAIT must be a number of seconds, 0 or more; found {value!r}"
        )
    return wait


def _describe(exc: CorralError) -> str:
    """corral's error as a CommandError message: every problem, where, and what to do."""
    if isinstance(exc, BuildError):
        count = len(exc.problems)
        lines = [
            f"{count} problem{'s' if count != 1 else ''} found; nothing was published and "
            "the previous release is intact:"
        ]
        lines.extend(f"  {str(p).replace(chr(10), chr(10) + '  ')}" for p in exc.problems)
        return "\n".join(lines)
    return f"{exc.message}\n  hint: {exc.hint}" if exc.hint else exc.message
