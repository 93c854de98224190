"""corral.contrib.django.conf: Django's settings as corral's configuration.

The sources must be what Django's finders would find, in the order they would find it; the
storage class decides what a run does; the storage's settings reach the Config. Each is
checked on the Config (what corral is told) and, where it matters, on a real collection
(what corral does with it).
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.staticfiles import storage as django_storage
from django.contrib.staticfiles.finders import BaseFinder
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.files.storage import FileSystemStorage, InMemoryStorage
from django.core.management.base import CommandError

from corral.config import DirectorySource, ListedSource
from corral.contrib.django import storage as ours
from corral.contrib.django.conf import configure, sources, storage_kind

from .conftest import CORRAL_MANIFEST, CORRAL_STORAGE, DJANGO_MANIFEST, PLAIN, Project, storages

FS = "django.contrib.staticfiles.finders.FileSystemFinder"
APPS = "django.contrib.staticfiles.finders.AppDirectoriesFinder"
TWO_FILES = f"{__name__}.TwoFileFinder"


class TwoFileFinder(BaseFinder):
    """A third-party finder: lists two files of ``settings.TWO_FILE_FINDER_DIR``."""

    names = ("css/app.css", "extra/finder.txt")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.storage = FileSystemStorage(location=settings.TWO_FILE_FINDER_DIR)
        super().__init__(*args, **kwargs)

    def check(self, **kwargs: Any) -> list[Any]:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        if path in self.names:
            match = self.storage.path(path)
            return [match] if find_all else match
        return []

    def list(self, ignore_patterns: Any) -> Any:
        for name in self.names:
            yield name, self.storage


def described(found: tuple[Any, ...]) -> list[tuple[str, str]]:
    """Each source as (kind-and-location, prefix), for comparing orders."""
    out = []
    for spec in found:
        if isinstance(spec, DirectorySource):
            out.append((str(spec.path), spec.prefix))
        else:
            assert isinstance(spec, ListedSource)
            out.append((spec.label, ""))
    return out


# --- sources ------------------------------------------------------------------------------


def test_staticfiles_dirs_in_order_with_prefixes_and_paths(django_project: Project) -> None:
    one = django_project.write({"a.txt": "1"}, "one")
    two = django_project.write({"b.txt": "2"}, "two")
    three = django_project.write({"c.txt": "3"}, "three")
    django_project.configure(
        STATICFILES_DIRS=[str(two), ("vendor/lib", str(one)), three],
        STATICFILES_FINDERS=[FS],
    )
    assert described(sources([])) == [(str(two), ""), (str(one), "vendor/lib"), (str(three), "")]


def test_a_missing_staticfiles_dir_is_skipped(django_project: Project) -> None:
    one = django_project.write({"a.txt": "1"}, "one")
    missing = django_project.base / "not-there"
    django_project.configure(STATICFILES_DIRS=[str(missing), str(one)], STATICFILES_FINDERS=[FS])
    assert described(sources([])) == [(str(one), "")]
    run = django_project.collectstatic()
    assert (django_project.root / "a.txt").read_text() == "1"
    assert "1 static file copied" in run.stdout


def test_apps_follow_installed_apps_order(django_project: Project) -> None:
    second = django_project.app("corral_app_second", {"shared.txt": "second"})
    first = django_project.app("corral_app_first", {"shared.txt": "first"})
    django_project.app("corral_app_nostatic", {})  # an app without static/ files: no source
    django_project.configure(
        INSTALLED_APPS=[
            "corral.contrib.django",
            "django.contrib.staticfiles",
            "corral_app_first",
            "corral_app_nostatic",
            "corral_app_second",
        ],
        STATICFILES_FINDERS=[APPS],
    )
    assert described(sources([])) == [(str(first), ""), (str(second), "")]
    django_project.collectstatic()
    assert (django_project.root / "shared.txt").read_text() == "first"


def test_sources_follow_the_finders_order(django_project: Project) -> None:
    app = django_project.app("corral_app_order", {"css/app.css": "from the app"})
    django_project.write({"css/app.css": "from the dirs"})
    django_project.configure(
        INSTALLED_APPS=["corral.contrib.django", "django.contrib.staticfiles", "corral_app_order"]
    )
    django_project.configure(STATICFILES_FINDERS=[FS, APPS])
    assert described(sources([])) == [(str(django_project.assets), ""), (str(app), "")]
    django_project.configure(STATICFILES_FINDERS=[APPS, FS])
    assert described(sources([])) == [(str(app), ""), (str(django_project.assets), "")]
    run = django_project.collectstatic(verbosity=2)  # conflicts: verbosity 2 on Django 6
    assert (django_project.root / "css/app.css").read_text() == "from the app"
    assert "Found another file with the destination path 'css/app.css'" in run.stdout


def test_the_default_storage_finder_is_its_directory(django_project: Project) -> None:
    media = django_project.write({"media.txt": "m"}, "media")
    django_project.configure(
        STATICFILES_FINDERS=[FS, "django.contrib.staticfiles.finders.DefaultStorageFinder"],
        STORAGES={
            **storages(PLAIN),
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(media)},
            },
        },
    )
    assert described(sources([])) == [(str(django_project.assets), ""), (str(media), "")]
    django_project.collectstatic()
    assert (django_project.root / "media.txt").read_text() == "m"


@pytest.mark.parametrize("finder_first", [False, True])
def test_a_third_party_finder_is_a_listed_source(
    django_project: Project, finder_first: bool
) -> None:
    listed = django_project.write(
        {"css/app.css": "from the finder", "extra/finder.txt": "listed", "unlisted.txt": "no"},
        "finder",
    )
    django_project.write({"css/app.css": "from the dirs"})
    order = [TWO_FILES, FS] if finder_first else [FS, TWO_FILES]
    django_project.configure(TWO_FILE_FINDER_DIR=str(listed), STATICFILES_FINDERS=order)

    found = sources([])
    [spec] = [s for s in found if isinstance(s, ListedSource)]
    assert spec.files == (
        ("css/app.css", listed / "css/app.css"),
        ("extra/finder.txt", listed / "extra/finder.txt"),
    )
    assert found.index(spec) == (0 if finder_first else 1)

    run = django_project.collectstatic(verbosity=2)  # conflicts: verbosity 2 on Django 6
    root = django_project.root
    winner = "from the finder" if finder_first else "from the dirs"
    assert (root / "css/app.css").read_text() == winner  # first wins across all sources
    assert (root / "extra/finder.txt").read_text() == "listed"
    assert not (root / "unlisted.txt").exists()  # only what the finder lists
    assert "Found another file with the destination path 'css/app.css'" in run.stdout


# --- storage_kind --------------------------------------------------------------------------


class HashOverride(ours.ManifestStaticFilesStorage):
    def file_hash(self, name: str, content: Any = None) -> str:
        return "0" * 12


class PatternsOverride(django_storage.ManifestStaticFilesStorage):
    patterns = (*django_storage.ManifestStaticFilesStorage.patterns, ("*.txt", ()))


class RenamedManifest(ours.ManifestStaticFilesStorage):
    manifest_name = "assets.json"
    support_js_module_import_aggregation = True


class NoManifest(django_storage.HashedFilesMixin, django_storage.StaticFilesStorage):
    pass


class OwnPostProcessing(django_storage.StaticFilesStorage):
    def post_process(self, paths: Any, dry_run: bool = False, **options: Any) -> Any:
        yield from ()


@pytest.mark.parametrize(
    ("cls", "kind", "reason"),
    [
        (django_storage.StaticFilesStorage, "plain", ""),
        (ours.StaticFilesStorage, "plain", ""),
        (django_storage.ManifestStaticFilesStorage, "manifest", ""),
        (ours.ManifestStaticFilesStorage, "manifest", ""),
        (RenamedManifest, "manifest", ""),
        (ours.CorralStorage, "corral", ""),
        (HashOverride, "django", "overrides file_hash"),
        (PatternsOverride, "django", "adds its own rewriting patterns"),
        (OwnPostProcessing, "django", "post-processes files its own way"),
        (NoManifest, "django", "keeps no manifest"),
        (InMemoryStorage, "django", "is not a local file system storage"),
    ],
)
def test_storage_kind(
    django_project: Project, tmp_path: Path, cls: type, kind: str, reason: str
) -> None:
    instance = cls() if cls is InMemoryStorage else cls(location=str(tmp_path))
    found_kind, found_reason = storage_kind(instance)
    assert found_kind == kind
    assert reason in found_reason
    if kind == "django":
        assert cls.__qualname__ in found_reason  # the message names the storage class


@pytest.mark.parametrize(
    ("backend", "kind"),
    [
        (DJANGO_MANIFEST, "manifest"),
        (CORRAL_MANIFEST, "manifest"),
        (CORRAL_STORAGE, "corral"),
        (f"{__name__}.HashOverride", "django"),
    ],
)
def test_storage_kind_of_the_configured_storage(
    django_project: Project, backend: str, kind: str
) -> None:
    """The configured storage is a lazy object: its class must still be seen through."""
    django_project.configure(STORAGES=storages(backend))
    assert storage_kind(staticfiles_storage)[0] == kind


# --- what reaches the Config ---------------------------------------------------------------


def test_storage_settings_reach_the_config(django_project: Project) -> None:
    django_project.configure(
        STORAGES=storages(f"{__name__}.RenamedManifest"),
        FILE_UPLOAD_PERMISSIONS=0o640,
        FILE_UPLOAD_DIRECTORY_PERMISSIONS=0o750,
        STATIC_URL="/assets/",
    )
    setup = configure(staticfiles_storage, link=False, post_process=True, ignore_patterns=[])
    assert setup.kind == "manifest"
    config = setup.config
    assert config is not None
    assert config.manifest_name == "assets.json"
    assert config.modules is True
    assert config.file_mode == 0o640
    assert config.dir_mode == 0o750
    assert config.url == "/assets/"
    assert config.root == django_project.root
    assert config.hash is True
    assert config.compress is False  # Django's storage: Django's files, nothing more

    django_project.configure(STORAGES=storages(CORRAL_MANIFEST))
    setup = configure(staticfiles_storage, link=False, post_process=True, ignore_patterns=[])
    assert setup.config is not None
    assert setup.config.manifest_name == "staticfiles.json"
    assert setup.config.modules is False  # Django's default


def test_storage_settings_reach_the_published_files(django_project: Project) -> None:
    django_project.write({"js/app.js": "import './dep.js';\n", "js/dep.js": "export {};\n"})
    django_project.configure(
        STORAGES=storages(f"{__name__}.RenamedManifest"), FILE_UPLOAD_PERMISSIONS=0o640
    )
    django_project.collectstatic()
    root = django_project.root
    assert (root / "assets.json").is_file()
    assert not (root / "staticfiles.json").exists()
    assert stat.S_IMODE((root / "js/app.js").stat().st_mode) == 0o640
    [hashed_app] = [p for p in (root / "js").glob("app.*.js")]
    [hashed_dep] = [p for p in (root / "js").glob("dep.*.js")]
    # support_js_module_import_aggregation: the import is rewritten to the hashed name
    assert f"./{hashed_dep.name}" in hashed_app.read_text()


@pytest.mark.parametrize("backend", [PLAIN, DJANGO_MANIFEST, CORRAL_MANIFEST])
def test_djangos_storages_get_djangos_files_only(django_project: Project, backend: str) -> None:
    """No precompressed variants: only CorralStorage asks for corral's whole pipeline."""
    django_project.write({"js/big.js": "let x = 1;\n" * 100})
    django_project.configure(STORAGES=storages(backend))
    setup = configure(staticfiles_storage, link=False, post_process=True, ignore_patterns=[])
    assert setup.config is not None
    assert setup.config.compress is False
    django_project.collectstatic()
    names = {p.name for p in (django_project.root / "js").iterdir()}
    assert "big.js" in names
    assert not [n for n in names if n.endswith((".gz", ".br", ".zst"))]


def test_corral_storage_options_reach_the_config(django_project: Project) -> None:
    django_project.configure(
        STORAGES=storages(
            CORRAL_STORAGE,
            keep=5,
            modules=False,
            missing={"url": "warn"},
            accept_missing=["vendor/*"],
            compress={"zstd": False},
        )
    )
    setup = configure(staticfiles_storage, link=False, post_process=True, ignore_patterns=[])
    config = setup.config
    assert config is not None
    assert (config.keep, config.modules, dict(config.missing)) == (5, False, {"url": "warn"})
    assert config.accept_missing == ("vendor/*",)
    assert (config.compress, dict(config.compression)) == (True, {"zstd": False})
    # --keep wins over the option
    setup = configure(
        staticfiles_storage, link=False, post_process=True, ignore_patterns=[], keep=1
    )
    assert setup.config is not None
    assert setup.config.keep == 1


def test_a_static_root_equal_to_the_project_gets_a_hint_about_static_root(
    django_project: Project,
) -> None:
    django_project.write({"css/app.css": "a"})
    django_project.configure(STATIC_ROOT=str(django_project.base))
    with pytest.raises(CommandError) as info:
        django_project.collectstatic()
    message = str(info.value)
    assert "it is the project root" in message
    assert "hint: point STATIC_ROOT (the staticfiles storage's location) at a directory" in message
    assert "--root" not in message


def test_conf_and_storage_import_in_one_direction_only() -> None:
    """conf reads settings and builds on the storage classes; storage never imports conf
    (the two used to import each other lazily, a cycle)."""
    import ast  # noqa: PLC0415

    def imported(module: str) -> set[str]:
        path = Path(__file__).resolve().parents[3] / "src/corral/contrib/django" / module
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        return names

    assert "corral.contrib.django.storage" in imported("conf.py")
    assert not {n for n in imported("storage.py") if n.startswith("corral.contrib.django.conf")}


def test_a_read_only_storage_mode_gets_variants_linked_from_the_cache(
    django_project: Project, shared_cache: Path
) -> None:
    # Django's FILE_UPLOAD_PERMISSIONS (0o644 by default) is a file_mode: copies. A storage
    # mode equal to the cache entries' (0o444) lets the variants be hard links to them.
    django_project.write({"js/big.js": "let x = 1;\n" * 100})
    django_project.configure(STORAGES=storages(CORRAL_STORAGE, file_permissions_mode=0o444))
    django_project.collectstatic()
    variants = [p for p in (django_project.root / "js").iterdir() if p.suffix == ".br"]
    cached = {p.stat().st_ino for p in shared_cache.rglob("*.br")}
    assert variants and {p.stat().st_ino for p in variants} <= cached
    assert all(p.stat().st_mode & 0o777 == 0o444 for p in variants)
