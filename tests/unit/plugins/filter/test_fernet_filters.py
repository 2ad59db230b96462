# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller-side filters and the key lookup, called as Ansible calls them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import os

import pytest
from ansible.errors import AnsibleFilterError, AnsibleLookupError

from ansible_collections.webops.encryption.plugins.filter.fernet import FilterModule
from ansible_collections.webops.encryption.plugins.lookup.fernet_generate import LookupModule
from ansible_collections.webops.encryption.plugins.module_utils.fernet import MSG_INVALID_KEY, MSG_NOT_CONFIGURED

FILTERS = FilterModule().filters()


def test_both_filters_are_registered():
    assert sorted(FILTERS) == ["fernet_fingerprint", "fernet_key_info"]


def test_fingerprint_is_the_same_for_both_alphabets():
    raw = os.urandom(32)
    expected = "sha256:" + hashlib.sha256(raw).hexdigest()[:16]
    assert FILTERS["fernet_fingerprint"](base64.urlsafe_b64encode(raw).decode("ascii")) == expected
    assert FILTERS["fernet_fingerprint"](base64.b64encode(raw).decode("ascii")) == expected
    assert FILTERS["fernet_fingerprint"](base64.b64encode(raw)) == expected


@pytest.mark.parametrize("make", [
    lambda: os.urandom(32).hex(),
    lambda: base64.urlsafe_b64encode(os.urandom(31)).decode("ascii"),
    lambda: base64.urlsafe_b64encode(os.urandom(33)).decode("ascii"),
    lambda: "not a key at all, 44 characters long......!",
])
def test_fingerprint_of_an_invalid_key_fails_without_the_key(make):
    text = make()
    with pytest.raises(AnsibleFilterError) as info:
        FILTERS["fernet_fingerprint"](text, name="webops_encryption_key_next")
    message = str(info.value)
    assert "Invalid webops_encryption_key_next: must be 32 url-safe base64-encoded bytes" in message
    assert text not in message and text[:20] not in message


def test_fingerprint_of_nothing_says_not_configured():
    with pytest.raises(AnsibleFilterError) as info:
        FILTERS["fernet_fingerprint"]("")
    assert MSG_NOT_CONFIGURED in str(info.value)


def test_non_text_input_is_refused_without_echo():
    with pytest.raises(AnsibleFilterError) as info:
        FILTERS["fernet_fingerprint"](123456789012345)
    assert "123456789012345" not in str(info.value) and "int" in str(info.value)
    with pytest.raises(AnsibleFilterError):
        FILTERS["fernet_key_info"](["a"])


def test_key_info_filter():
    raw = os.urandom(32)
    standard = base64.b64encode(raw).decode("ascii")
    info = FILTERS["fernet_key_info"](standard)
    assert info["valid"] is True and info["configured"] is True and info["error"] is None
    assert info["fingerprint"] == FILTERS["fernet_fingerprint"](standard)
    assert info["encoding"] == ("standard" if ("+" in standard or "/" in standard) else "urlsafe")
    assert FILTERS["fernet_key_info"](None)["error"] == MSG_NOT_CONFIGURED
    bad = FILTERS["fernet_key_info"](raw.hex())
    assert bad["valid"] is False and bad["configured"] is True and bad["error"].startswith(MSG_INVALID_KEY)
    assert raw.hex() not in bad["error"]


def test_lookup_returns_one_new_valid_key_per_call():
    lookup = LookupModule()
    first = lookup.run([], variables={})
    second = lookup.run([], variables={})
    assert len(first) == 1 and len(second) == 1 and first != second
    for key in first + second:
        assert FILTERS["fernet_key_info"](key)["valid"] is True
        assert len(key) == 44 and "+" not in key and "/" not in key
    with pytest.raises(AnsibleLookupError):
        lookup.run(["unexpected"], variables={})
