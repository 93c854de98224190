"""corral.contrib.django.storage: the drop-in storage classes.

``post_process()`` called directly (as Django's stock collectstatic does) against Django's
own ManifestStaticFilesStorage on the same tree; CorralStorage's options, checked at
start-up; compression; and Subresource Integrity from the published bytes.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import storage as django_storage
from django.contrib.staticfiles.storage import staticfiles_storage
from django.contrib.staticfiles.utils import get_files
from django.core.files.storage import FileSystemStorage

from corral.contrib.django import storage as ours
from corral.errors import BuildError, ConfigError

from ...conftest import served_files, write_tree
from .conftest import CORRAL_MANIFEST, CORRAL_STORAGE, Project, storages

PNG = b"\x89PNG\r\n\x1a\n fake image"

TREE: dict[str, str | bytes] = {
    "base.css": "@import url('css/app.css');\nbody { margin: 0; }\n",
    "css/app.css": (
        "@import 'parts/theme.css';\n"
        'body { background: url("../img/bg.png?v=1#top"); }\n'
        ".logo { background: url(/static/img/logo.png); }\n"
    ),
    "css/parts/theme.css": "h1 { background: url('../../img/bg.png'); }\n",
    "img/bg.png": PNG,
    "img/logo.png": PNG + b"logo",
    "js/app.js": "console.log('app');\n//# sourceMappingURL=app.js.map\n",
    "js/app.js.map": '{"version": 3, "sources": [], "mappings": ""}\n',
    "fonts/x.woff2": b"wOF2 fake font",
}


def sri(data: bytes) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def stage(src: Path, root: Path) -> dict[str, tuple[Any, str]]:
    """Copy ``src`` into ``root`` as collectstatic's copy phase does; return its ``paths``."""
    shutil.copytree(src, root)
    source = FileSystemStorage(location=str(src))
    return {path: (source, path) for path in get_files(source)}


def post_process(storage: Any, paths: dict[str, tuple[Any, str]]) -> dict[str, Any]:
    """Drive ``post_process`` as Django's collectstatic does: the last outcome per file."""
    outcome: dict[str, Any] = {}
    for original, hashed, processed in storage.post_process(paths):
        outcome[original] = processed if isinstance(processed, Exception) else hashed
    return outcome


# --- post_process, against Django's --------------------------------------------------------


@pytest.mark.parametrize("modules", [False, True])
def test_post_process_matches_djangos(
    django_project: Project, tmp_path: Path, modules: bool
) -> None:
    tree = dict(TREE)
    if modules:
        tree["js/main.js"] = "import { x } from './lib/x.js';\nexport { x };\n"
        tree["js/lib/x.js"] = "export const x = 1;\n"
    src = write_tree(tmp_path / "src", tree)

    class Theirs(django_storage.ManifestStaticFilesStorage):
        support_js_module_import_aggregation = modules

    class Mine(ours.ManifestStaticFilesStorage):
        support_js_module_import_aggregation = modules

    roots = {"django": tmp_path / "django", "corral": tmp_path / "corral"}
    outcomes = {}
    for label, cls in (("django", Theirs), ("corral", Mine)):
        paths = stage(src, roots[label])
        storage = cls(location=str(roots[label]), base_url="/static/")
        outcomes[label] = post_process(storage, paths)

    assert outcomes["corral"] == outcomes["django"]
    assert set(outcomes["corral"]) == set(tree)
    assert all(hashed != name for name, hashed in outcomes["corral"].items())
    theirs, mine = served_files(roots["django"]), served_files(roots["corral"])
    assert sorted(mine) == sorted(theirs)  # the same hashed files, and nothing else
    for name, data in theirs.items():
        assert mine[name] == data, name  # staticfiles.json too, byte for byte


def test_post_process_yields_every_missing_reference_as_one_error(
    django_project: Project, tmp_path: Path
) -> None:
    src = write_tree(
        tmp_path / "src",
        {
            "css/a.css": "a { background: url(../img/gone-a.png); }\n",
            "css/b.css": "\n\nb { background: url('gone-b.png'); }\n",
            "img/here.png": PNG,
        },
    )
    root = tmp_path / "root"
    paths = stage(src, root)
    before = served_files(root)
    storage = ours.ManifestStaticFilesStorage(location=str(root), base_url="/static/")
    yielded = list(storage.post_process(paths))

    assert len(yielded) == 1
    _name, hashed, error = yielded[0]
    assert hashed is None
    assert isinstance(error, BuildError)
    found = {(p.code, p.logical_path, p.line, p.reference) for p in error.problems}
    assert found == {
        ("missing-reference", "css/a.css", 1, "../img/gone-a.png"),
        ("missing-reference", "css/b.css", 3, "gone-b.png"),
    }
    assert served_files(root) == before  # nothing written: no hashed file, no manifest


def test_post_process_dry_run_does_nothing(django_project: Project, tmp_path: Path) -> None:
    root = tmp_path / "root"
    paths = stage(write_tree(tmp_path / "src", TREE), root)
    before = served_files(root)
    storage = ours.ManifestStaticFilesStorage(location=str(root), base_url="/static/")
    assert list(storage.post_process(paths, dry_run=True)) == []
    assert served_files(root) == before


# --- CorralStorage's options ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"keep": -1}, "keep"),
        ({"keep": "2"}, "keep"),
        ({"compress": {"brotli_levle": 5}}, "compress.brotli_levle"),
        ({"compress": "yes"}, "compress"),
        ({"missing": {"url": "explode"}}, "missing.url"),
        ({"missing": {"urls": "warn"}}, "missing.urls"),
        ({"missing": "warn"}, "missing"),
        ({"modules": "no"}, "modules"),
        ({"accept_missing": "vendor/*"}, "accept_missing"),
        ({"passthrough": ["("]}, "passthrough"),
        ({"integrity": "md5"}, "integrity"),
        ({"cache_dir": 5}, "cache_dir"),
    ],
)
def test_corral_storage_rejects_a_bad_option(
    tmp_path: Path, options: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        ours.CorralStorage(location=str(tmp_path), **options)
    assert caught.value.key == key
    assert caught.value.file == 'STORAGES["staticfiles"]["OPTIONS"]'


def test_the_cache_dir_option_yields_to_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CORRAL_CACHE_DIR")
    storage = ours.CorralStorage(location=str(tmp_path), cache_dir="build/cache")
    assert storage.corral_options["cache_dir"] == Path.cwd() / "build/cache"
    monkeypatch.setenv("CORRAL_CACHE_DIR", str(tmp_path / "ci-cache"))
    assert (
        "cache_dir" not in ours.CorralStorage(location=str(tmp_path), cache_dir="x").corral_options
    )


def test_a_typo_in_a_compress_option_gets_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        ours.CorralStorage(location=str(tmp_path), compress={"brotli_levle": 5})
    assert caught.value.hint == "did you mean 'brotli_level'?"


# --- compression ---------------------------------------------------------------------------

COMPRESSIBLE = {"css/app.css": "body { color: red; }\n" * 64, "js/app.js": "let a = 1;\n" * 64}


def test_corral_storage_compresses_by_default(django_project: Project) -> None:
    django_project.write(COMPRESSIBLE)
    django_project.configure(STORAGES=storages(CORRAL_STORAGE))
    django_project.collectstatic()
    root = django_project.root
    hashed = staticfiles_storage.stored_name("css/app.css")
    for name in ("css/app.css", hashed):
        for suffix in (".br", ".gz", ".zst"):
            assert (root / (name + suffix)).is_file(), name + suffix


def test_compress_false_turns_compression_off(django_project: Project) -> None:
    django_project.write(COMPRESSIBLE)
    django_project.configure(STORAGES=storages(CORRAL_STORAGE, compress=False))
    django_project.collectstatic()
    names = served_files(django_project.root)
    assert staticfiles_storage.stored_name("css/app.css") in names  # still fingerprinted
    assert not [n for n in names if n.endswith((".br", ".gz", ".zst"))]


def test_djangos_manifest_storage_is_not_compressed(django_project: Project) -> None:
    django_project.write(COMPRESSIBLE)
    django_project.configure(STORAGES=storages(CORRAL_MANIFEST))
    django_project.collectstatic()
    assert not [n for n in served_files(django_project.root) if n.endswith(".gz")]


# --- integrity -----------------------------------------------------------------------------


@pytest.mark.parametrize("backend", [CORRAL_STORAGE, CORRAL_MANIFEST])
def test_integrity_is_the_published_hashed_files_sri(django_project: Project, backend: str) -> None:
    js = django_project.write(COMPRESSIBLE) / "js/app.js"
    django_project.configure(STORAGES=storages(backend))
    root = django_project.root
    for version in range(2):  # a new run's manifest is picked up
        js.write_text(f"let a = {version};\n")
        django_project.collectstatic()
        hashed = root / staticfiles_storage.stored_name("js/app.js")
        assert hashed.read_bytes() == f"let a = {version};\n".encode()
        assert staticfiles_storage.integrity("js/app.js") == sri(hashed.read_bytes())
        assert staticfiles_storage.integrity("js/app.js?v=3#x") == sri(hashed.read_bytes())
