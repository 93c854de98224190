"""System checks: corral.E001 (app order), corral.W001 (Django's collection), corral.E002."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from django.core import checks

from ...conftest import state_path
from .conftest import CORRAL_MANIFEST, CORRAL_STORAGE, DJANGO_MANIFEST, PLAIN, Project, storages

OURS = "corral.contrib.django"
STATICFILES = "django.contrib.staticfiles"


class FixedHash(ManifestStaticFilesStorage):
    def file_hash(self, name: str, content: object = None) -> str:
        return "fixedhash000"


def corral_messages() -> list[checks.CheckMessage]:
    """What ``manage.py check`` would report from corral (through the registry)."""
    found = checks.run_checks(tags=[checks.Tags.staticfiles])
    return [m for m in found if str(m.id).startswith("corral.")]


@pytest.mark.parametrize(
    "apps",
    [
        [STATICFILES, OURS],
        [f"{STATICFILES}.apps.StaticFilesConfig", f"{OURS}.apps.CorralConfig"],
    ],
)
def test_e001_when_corral_comes_after_staticfiles(django_project: Project, apps: list[str]) -> None:
    django_project.write({"a.txt": "a"})
    django_project.configure(INSTALLED_APPS=apps)
    [message] = corral_messages()
    assert message.id == "corral.E001"
    assert isinstance(message, checks.Error)
    assert "Move 'corral.contrib.django' above 'django.contrib.staticfiles'" in str(message.hint)
    # What it warns about: Django's own command runs, and corral never sees the root.
    django_project.collectstatic()
    assert (django_project.root / "a.txt").read_text() == "a"
    assert not state_path(django_project.root).exists()


OWN_STATICFILES = """
from django.contrib.staticfiles.apps import StaticFilesConfig


class SiteStaticFiles(StaticFilesConfig):
    ignore_patterns = [*StaticFilesConfig.ignore_patterns, "*.scss"]
"""


def own_staticfiles(django_project: Project) -> str:
    """A project's own StaticFilesConfig subclass (Django's way to change its
    ignore_patterns); returns its dotted path for INSTALLED_APPS."""
    package = django_project.app("sitestatic", {}).parent
    (package / "apps.py").write_text(OWN_STATICFILES)
    return "sitestatic.apps.SiteStaticFiles"


def test_e001_sees_staticfiles_installed_through_a_projects_own_config(
    django_project: Project,
) -> None:
    django_project.write({"a.txt": "a"})
    django_project.configure(INSTALLED_APPS=[own_staticfiles(django_project), OURS])
    [message] = corral_messages()
    assert message.id == "corral.E001"
    django_project.collectstatic()
    assert not state_path(django_project.root).exists()  # Django's command ran


def test_a_projects_own_staticfiles_config_after_corral_is_fine(
    django_project: Project,
) -> None:
    django_project.write({"a.txt": "a", "css/theme.scss": "b"})
    django_project.configure(INSTALLED_APPS=[OURS, own_staticfiles(django_project)])
    assert corral_messages() == []
    django_project.collectstatic()
    assert state_path(django_project.root).is_dir()  # corral's command ran
    assert (django_project.root / "a.txt").read_text() == "a"
    assert not (django_project.root / "css/theme.scss").exists()  # the config's pattern


def test_w001_when_the_storage_falls_back_to_djangos_collection(
    django_project: Project,
) -> None:
    django_project.configure(STORAGES=storages(f"{__name__}.FixedHash"))
    [message] = corral_messages()
    assert message.id == "corral.W001"
    assert isinstance(message, checks.Warning)
    assert f"{__name__}.FixedHash overrides file_hash" in message.msg


@pytest.mark.parametrize(
    ("options", "key"),
    [({"keep": -1}, "keep"), ({"compress": {"level": 3}}, "compress.level")],
)
def test_e002_for_a_bad_corral_storage_option(
    django_project: Project, options: dict[str, object], key: str
) -> None:
    django_project.configure(STORAGES=storages(CORRAL_STORAGE, **options))
    [message] = corral_messages()
    assert message.id == "corral.E002"
    assert isinstance(message, checks.Error)
    assert f"key {key!r}" in message.msg
    assert 'STORAGES["staticfiles"]["OPTIONS"]' in message.msg


def test_e002_stops_manage_py_collectstatic(django_project: Project) -> None:
    django_project.write({"a.txt": "a"})
    django_project.configure(STORAGES=storages(CORRAL_STORAGE, keep=-1))
    run = django_project.manage("collectstatic", "--noinput")
    assert run.returncode == 1
    assert "corral.E002" in run.stderr
    assert not django_project.root.exists()


@pytest.mark.parametrize("backend", [PLAIN, DJANGO_MANIFEST, CORRAL_MANIFEST, CORRAL_STORAGE])
def test_no_message_on_a_good_setup(django_project: Project, backend: str) -> None:
    django_project.configure(STORAGES=storages(backend))
    assert corral_messages() == []
