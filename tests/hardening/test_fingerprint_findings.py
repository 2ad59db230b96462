# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fingerprints that could be reversed: secret_key_info gives a fingerprint only for a valid key
(an unsalted hash of ``mycompanysecret2024`` falls to a six-word list), compares weak keys only
by an HMAC under a secret of the run, and refuses a key that is not text with a clear message.
Through the module file, as Ansible runs it."""

import hashlib
import itertools
import os

import pytest

from ansible_collections.webops.encryption.plugins.module_utils import secret_key

from hardening.harness.modules import run_module

WEAK = "mycompanysecret2024"
WORDS = ["my", "company", "secret", "2024", "webops", "key"]


def _reversed_by_wordlist(fingerprint):
    """What an attacker does with an unsalted fingerprint: hash every short phrase of a word list."""
    for count in range(1, 5):
        for words in itertools.product(WORDS, repeat=count):
            guess = "".join(words)
            if "sha256:" + hashlib.sha256(guess.encode()).hexdigest()[:16] == fingerprint:
                return guess
    return None


@pytest.mark.parametrize("source", ["key", "path"])
def test_a_weak_key_has_no_fingerprint_to_reverse(source, tmp_path, tally):
    if source == "key":
        args = {"key": WEAK, "salt": "a secret of this run"}
    else:
        env = tmp_path / ".env"
        env.write_text("SECRET_KEY=%s\n" % WEAK)
        os.chmod(str(env), 0o600)
        args = {"path": str(env), "salt": "a secret of this run"}
    result, proc = run_module("secret_key_info", args, tmp_path)
    output = proc.stdout + proc.stderr
    recovered = [_reversed_by_wordlist(value) for value in (result or {}).values()
                 if isinstance(value, str) and value.startswith(("sha256:", "hmac:"))]
    ok = bool(result) and result["configured"] and not result["valid"] and result["fingerprint"] is None \
        and result["match_id"].startswith("hmac:") and not any(recovered) and WEAK not in output
    tally.leak_check("secret_key_info fingerprint of a weak key", [] if ok else ["reversible: %s" % source], source)
    assert ok, result


def test_weak_keys_still_compare_under_the_runs_salt():
    first = secret_key.info(WEAK, salt="run one")
    assert first["fingerprint"] is None and first["match_id"] == secret_key.info(WEAK, salt="run one")["match_id"]
    assert first["match_id"] != secret_key.info(WEAK + "x", salt="run one")["match_id"]
    assert first["match_id"] != secret_key.info(WEAK, salt="run two")["match_id"]
    valid = secret_key.generate()
    assert secret_key.info(valid)["fingerprint"] == secret_key.fingerprint(valid)


@pytest.mark.parametrize("value", [12345678901234567890, ["first item", "second item"], {"some": "mapping"}, 3.5, True])
def test_a_key_that_is_not_text_gets_a_clear_error(value, tmp_path, tally):
    info = secret_key.info(value)
    assert info["valid"] is False and info["fingerprint"] is None and "not text" in info["error"]
    result, proc = run_module("secret_key_info", {"key": value}, tmp_path)
    output = proc.stdout + proc.stderr
    msg = (result or {}).get("msg", "")
    ok = bool(result) and result.get("failed") is True and "must be the SECRET_KEY as text" in msg \
        and "Traceback" not in output and "AttributeError" not in output
    tally.input("secret_key_info key of type %s" % type(value).__name__, ok, msg[:160])
    assert ok, output[-600:]
