"""The site's icon: /favicon.ico (asked for by browsers on every page, and by tools) and the SVG
that base.html links."""

import re
import struct

import pytest
from django.test import Client

from tests.clients import client_for

pytestmark = pytest.mark.django_db


def test_favicon_ico_is_an_icon_for_anyone():
    response = Client().get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    body = b"".join(response.streaming_content)
    reserved, kind, count = struct.unpack("<HHH", body[:6])
    assert (reserved, kind) == (0, 1) and count >= 1  # an ICO directory
    assert b"\x89PNG" in body


def test_every_page_links_the_icons_and_they_answer(alice):
    html = client_for(alice).get("/projects/").content.decode()

    links = re.findall(r'<link rel="icon" href="([^"]+)"', html)
    assert links[0] == "/favicon.ico"
    assert len(links) == 2
    svg = Client().get(links[1])
    assert svg.status_code == 200
    assert svg["Content-Type"] == "image/svg+xml"
