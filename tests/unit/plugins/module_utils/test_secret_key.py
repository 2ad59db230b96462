# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SECRET_KEY family: validation, generation, the derived key and the double-base64 format,
checked against the test suite's own implementation of the app's derivation (webops_db)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib

import pytest

from support import webops_db
from ansible_collections.webops.encryption.plugins.module_utils import _dotenv as dotenv
from ansible_collections.webops.encryption.plugins.module_utils import fernet as fernet_utils
from ansible_collections.webops.encryption.plugins.module_utils import secret_key

GOOD = "k3Y9-q_Zr7.W1x,T8v:M2b+N5c@L4d!P6f*J0g^H(a)S[e]D{u}Qw~Ey" + "Ro12"


def test_a_generated_key_is_long_random_and_survives_decouple_and_systemd():
    keys = set(secret_key.generate() for _attempt in range(50))
    assert len(keys) == 50
    for key in keys:
        assert len(key) >= 50
        assert secret_key.check(key) == key
        assert not set(key) & set("'\"#$\\% =`\t\n")
        assert all(33 <= ord(c) <= 126 for c in key)
        assert dotenv.format_value(key) == key  # written unquoted


@pytest.mark.parametrize("bad, reason", [
    (None, "not configured"),
    ("", "not configured"),
    ("x" * 49, "49 characters"),
    ("ab" * 30, "distinct"),
    ("django-insecure-" + "a1b2c3d4e5" * 5, "default"),
    ("your-secret-key-" + "a1b2c3d4e5" * 5, "default"),
    ("a1b2c3d4e5" * 5 + "$x", "would change"),
    ("a1b2c3d4e5" * 5 + "#x", "would change"),
    ("a1b2c3d4e5" * 5 + "'x", "would change"),
    ("a1b2c3d4e5" * 5 + " x", "would change"),
    ("a1b2c3d4e5" * 5 + "%x", "would change"),
    ("a1b2c3d4e5" * 5 + "\\x", "would change"),
    (" " + "a1b2c3d4e5" * 6, "white space"),
])
def test_check_refuses_what_the_app_or_a_dotenv_would_and_never_shows_the_key(bad, reason):
    with pytest.raises(secret_key.InvalidSecretKey) as caught:
        secret_key.check(bad)
    assert reason in str(caught.value)
    if bad:
        assert bad.strip() not in str(caught.value)


def test_info_describes_an_old_weak_key_without_a_fingerprint_to_reverse():
    described = secret_key.info("django-insecure-kept as is")
    assert described["configured"] and not described["valid"]
    assert described["fingerprint"] is None
    # Under a secret of the run, weak keys still compare.
    salted = secret_key.info("django-insecure-kept as is", salt="run secret")["match_id"]
    assert salted == secret_key.match_id("django-insecure-kept as is", "run secret") and salted.startswith("hmac:")
    assert secret_key.info("")["configured"] is False
    assert secret_key.info(GOOD) == {"configured": True, "valid": True, "error": None,
                                     "fingerprint": secret_key.fingerprint(GOOD)}


def test_a_weak_key_is_named_without_a_fingerprint_by_the_rule_of_info():
    weak, weaker = "django-insecure-kept as is", "mycompanysecret2024"
    assert secret_key.weakness(GOOD) is None and secret_key.weakness(weak) == secret_key.info(weak)["error"].split(": ", 1)[1]
    assert secret_key.labels({"new": GOOD, "old0": weak}) == {
        "new": secret_key.fingerprint(GOOD), "old0": "a weak SECRET_KEY (not fingerprinted: %s)" % secret_key.weakness(weak)}
    named = secret_key.labels({"old0": weak, "old1": weaker, "old2": GOOD})
    assert named["old0"].startswith("weak SECRET_KEY #1 ") and named["old1"].startswith("weak SECRET_KEY #2 ")
    # The keyring the audit and the rotation name their keys with follows the same rule.
    ring = secret_key.DerivedKeyring([("current", GOOD), ("old0", weak)])
    assert ring.fingerprints == {"current": secret_key.fingerprint(GOOD), "old0": secret_key.labels({"k": weak})["k"]}
    with pytest.raises(ValueError) as caught:
        secret_key.DerivedKeyring([("a", weak), ("b", weak)])
    assert "same key" in str(caught.value) and secret_key.fingerprint(weak) not in str(caught.value)


def test_the_fingerprint_is_the_sha256_of_the_keys_utf8_text():
    # What playbooks compute with hash('sha256'), and what operators compare.
    for key in (GOOD, u"cl\u00e9-" + GOOD):
        assert secret_key.fingerprint(key) == "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def test_the_derived_key_and_format_match_the_app():
    app = webops_db.config_fernet(GOOD)
    stored_by_app = base64.b64encode(app.encrypt(b"smtp-pass")).decode()
    assert stored_by_app.startswith(secret_key.WRAPPED_PREFIX)
    derived = secret_key.derive(GOOD)
    assert derived.decrypt(secret_key.unwrap(stored_by_app)) == "smtp-pass"
    ours = secret_key.encrypt(derived, "smtp-pass ✓")
    assert ours.startswith(secret_key.WRAPPED_PREFIX)
    assert app.decrypt(base64.b64decode(ours)).decode("utf-8") == "smtp-pass ✓"
    # Cached: the same object comes back, and a different key derives something else.
    assert secret_key.derive(GOOD) is derived
    assert secret_key.derive(GOOD + "x").fingerprint != derived.fingerprint


@pytest.mark.parametrize("value", [None, "", "plain", "gAAAAA" + "A" * 60, "Z0FBQUFB!!notbase64",
                                   base64.b64encode(b"gAAAAA-not-a-token").decode()])
def test_unwrap_takes_only_wrapped_well_formed_tokens(value):
    assert secret_key.unwrap(value) is None


def test_the_keyring_names_the_key_each_value_opens_with():
    other = "Zz" + GOOD[2:]
    ring = secret_key.DerivedKeyring([("new", GOOD), ("old", other)])
    under_old = secret_key.encrypt(secret_key.derive(other), "v")
    assert ring.classify(under_old) == (fernet_utils.KEY, "old", "v")
    assert ring.classify(secret_key.encrypt(secret_key.derive(GOOD), "w"))[:2] == (fernet_utils.KEY, "new")
    stranger = secret_key.encrypt(secret_key.derive("Q" * 10 + GOOD[10:]), "x")
    assert ring.classify(stranger)[0] == fernet_utils.UNKNOWN
    assert ring.classify(secret_key.unwrap(under_old))[0] == fernet_utils.UNKNOWN  # a bare token is not the app's format
    assert ring.classify("WebOps")[0] == fernet_utils.PLAINTEXT
    assert ring.classify("")[0] == fernet_utils.EMPTY
    with pytest.raises(ValueError, match="same key"):
        secret_key.DerivedKeyring([("a", GOOD), ("b", GOOD)])
