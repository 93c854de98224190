"""The app refuses a Django older than the oldest supported release, saying what to do."""

from __future__ import annotations

import django
import pytest
from django.core.exceptions import ImproperlyConfigured

from corral.contrib.django.apps import OLDEST_DJANGO, check_django_version


def test_the_installed_django_is_supported() -> None:
    assert django.VERSION[:2] >= OLDEST_DJANGO
    check_django_version()


def test_django_4_2_is_refused_with_what_to_do() -> None:
    with pytest.raises(ImproperlyConfigured) as info:
        check_django_version((4, 2, 27, "final", 0))
    message = str(info.value)
    assert "needs Django 5.2 or later; this is Django 4.2.27" in message
    assert "pip install 'django>=5.2,<7'" in message


@pytest.mark.parametrize(
    "version", [(5, 2, 0, "final", 0), (6, 0, 1, "final", 0), (6, 1, 0, "alpha", 1)]
)
def test_supported_releases_start(version: tuple[object, ...]) -> None:
    check_django_version(version)
