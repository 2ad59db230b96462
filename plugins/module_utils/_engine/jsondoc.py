# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""The one walk over the JSON columns: the string members of a JSON object, located in its text,
and the text with some of them replaced. Every part of the engine that reads or writes tokens
inside JSON documents goes through these two functions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_JSON_VALUE = json.JSONDecoder()


def string_members(text, matches):
    """[(name, value, start, end)] for each string member of a JSON object whose name ``matches``
    (a callable such as ``compiled_re.search``), ``start:end`` being the span of the value's
    literal in ``text``; empty if ``text`` is not a JSON object.

    Secrets are replaced in place (splice): every other byte of the document, numbers included,
    stays as it was (a float round trip would change 0.12345678901234567891 and turn 1e400 into
    Infinity, which is not JSON).
    """
    if not isinstance(text, str) or not text:
        return []
    try:
        document = json.loads(text)
    except ValueError:
        return []
    if not isinstance(document, dict):
        return []
    # The text is a valid JSON object: walk its top level.
    members = []
    space = _JSON_SPACE.match
    index = space(text, 0).end() + 1  # past '{'
    while True:
        index = space(text, index).end()
        if text[index] == "}":
            return members
        name, index = json.decoder.scanstring(text, index + 1)
        index = space(text, space(text, index).end() + 1).end()  # past ':'
        if text[index] == '"':
            value, end = json.decoder.scanstring(text, index + 1)
            if matches(name):
                members.append((name, value, index, end))
        else:
            end = _JSON_VALUE.raw_decode(text, index)[1]
        index = space(text, end).end()
        if text[index] == ",":
            index += 1


def splice(text, replacements):
    """``text`` with each (start, end, new string) put in as a JSON string literal."""
    parts = []
    last = 0
    for start, end, value in sorted(replacements):
        parts.append(text[last:start])
        parts.append(json.dumps(value))
        last = end
    parts.append(text[last:])
    return "".join(parts)
