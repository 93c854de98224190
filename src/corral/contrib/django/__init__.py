"""corral for Django: add ``"corral.contrib.django"`` to ``INSTALLED_APPS``, before
``"django.contrib.staticfiles"``, and ``manage.py collectstatic`` runs on corral.

See ``docs/django.md``.
"""
