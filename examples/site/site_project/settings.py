"""Settings for the example site: a small Django project whose static files corral collects.

``python manage.py collectstatic --noinput`` collects ``assets/`` and ``vendor/chartlite``
(under ``vendor/``) plus the admin's files into ``static_root/``, fingerprinted.

Debug mode is on unless ``DJANGO_DEBUG`` is ``0`` (or set but empty): this is an example
to look at, so ``python manage.py runserver`` shows the page with its styles and scripts out
of the box, nothing collected first (corral's middleware serves them from the sources).
``DJANGO_DEBUG=0`` is the production view: ``{% static %}`` names the hashed files from the
manifest, and the middleware serves them from ``static_root/`` (collect first).
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# An example, never deployed: set DJANGO_SECRET_KEY for anything else.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "corral-example-site-not-a-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1").strip().lower() not in ("", "0", "false", "no", "off")
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]

INSTALLED_APPS = [
    "corral.contrib.django",  # before staticfiles: its collectstatic command wins
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Django's staticfiles app with the site's ignore patterns (site_project/apps.py)
    "site_project.apps.SiteStaticFilesConfig",
    "pages",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # corral serves STATIC_ROOT under STATIC_URL (from the finders with DEBUG on)
    "corral.contrib.django.middleware.CorralMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "site_project.urls"
WSGI_APPLICATION = "site_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Static files: the same sources, in the same order, as [tool.corral] in pyproject.toml.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "static_root"
STATICFILES_DIRS = [
    BASE_DIR / "assets",  # the site's own files, highest priority
    ("vendor", BASE_DIR / "vendor"),  # vendored front-end libraries, under vendor/
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # corral's whole pipeline: hashed names, ES module imports rewritten, gzip/brotli/zstd
    # variants, the last two releases kept. Django's own
    # "django.contrib.staticfiles.storage.ManifestStaticFilesStorage" works here too.
    "staticfiles": {
        "BACKEND": "corral.contrib.django.storage.CorralStorage",
        "OPTIONS": {"keep": 2},
    },
}
