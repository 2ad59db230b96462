# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The secret_key_fingerprint filter, called as Ansible calls it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.webops.encryption.plugins.filter.secret_key import FilterModule

FILTERS = FilterModule().filters()
KEY = "p9$Vq2!zL@4rT&8wX*1nB^6mK(3jH)5gF_7dS+0aQ=eR-yU~iO`cW{vE}bN|"


def test_the_filter_is_registered():
    assert sorted(FILTERS) == ["secret_key_custody", "secret_key_custody_key", "secret_key_fingerprint", "secret_key_labels",
                               "secret_key_loss_check", "secret_key_state_keys"]


def test_fingerprint_of_the_utf8_text():
    assert FILTERS["secret_key_fingerprint"](KEY) == "sha256:" + hashlib.sha256(KEY.encode("utf-8")).hexdigest()[:16]
    assert FILTERS["secret_key_fingerprint"]("é" + KEY) == "sha256:" + hashlib.sha256(("é" + KEY).encode("utf-8")).hexdigest()[:16]


@pytest.mark.parametrize("value, named", [(None, "NoneType"), (b"bytes-key-bytes-key", "bytes"), (12345, "int"), ("", "empty")])
def test_refuses_what_is_not_text_without_echoing_it(value, named):
    with pytest.raises(AnsibleFilterError) as caught:
        FILTERS["secret_key_fingerprint"](value)
    assert named in str(caught.value)
    assert "bytes-key" not in str(caught.value) and "12345" not in str(caught.value)
