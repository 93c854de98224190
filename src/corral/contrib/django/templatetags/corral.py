"""Template tags: ``{% load corral %}`` then ``{% static_integrity 'js/app.js' %}``.

``static_integrity`` gives the Subresource Integrity value (``sha256-…``) of the
file ``{% static %}`` points at::

    <script src="{% static 'js/app.js' %}"
            integrity="{% static_integrity 'js/app.js' %}" crossorigin="anonymous"></script>

With ``DEBUG`` on, ``{% static %}`` serves the source file, so its integrity is
computed from that file; otherwise it comes from corral's manifest (no file is
read per request).
"""

from __future__ import annotations

from django import template

from corral.contrib.django.integrity import integrity

__all__ = ["register", "static_integrity"]

register = template.Library()


def static_integrity(path: str) -> str:
    """The SRI value of the file ``{% static path %}`` names."""
    return integrity(path)


register.simple_tag(static_integrity, name="static_integrity")
