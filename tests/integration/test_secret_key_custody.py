# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SECRET_KEY under custody from the first run: setup_encryption.yml adopts and escrows the hosts'
SECRET_KEY (or refuses hosts that disagree, before any change), rotate_keys.yml escrows it too and
checks the SECRET_KEY rotation of a compromise in its step 1, verify_keys.yml compares hosts and vault,
and backup_keys.yml writes both keys to gpg. Real ansible-playbook runs, real databases."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import hashlib
import os
import re
import subprocess

from cryptography.fernet import Fernet

from support import webops_db
from support.keys import fingerprint as encryption_fingerprint
from support.leaks import assert_no_secret
from support.playbook_site import ENV, FIRST_SECRET_KEY, PLAINTEXTS, SecretKeySite, step_of

# A SECRET_KEY the application accepts (50+ characters, no default-looking word, .env-safe).
GOOD_SECRET_KEY = "Kv7-Qm2_Zr9.Lx4,Hb8:Nw3+Pt6/Jd1@Fs5-Gy0_Uc2.Ea7,Ri4:Oz9+Wk"
OTHER_SECRET_KEY = "Yb3_Tn8-Ah1.Mc6,Xq0:Df5+Ug2/Le7@Ri4-Sw9_Kz1.Pv6,Jo3:Hm8+Ct"


def fp(secret_key):
    return "sha256:" + hashlib.sha256(secret_key.encode("utf-8")).hexdigest()[:16]


def output_of(run):
    return "rc=%s\n%s" % (run.returncode, run.stdout[-6000:])


def set_host_secret_key(site, host, secret_key):
    """Replace the SECRET_KEY line of one host's .env, keeping every other byte."""
    path = site.env_file(ENV, host)
    with open(path) as handle:
        text = handle.read()
    with open(path, "w") as handle:
        handle.write(re.sub(r"(?m)^SECRET_KEY=.*$", lambda _m: "SECRET_KEY=%s" % secret_key, text))


def check_output(result):
    """The output of a run must hold no SECRET_KEY of the test (SecretKeySite.run checks the vault's)."""
    for key in (GOOD_SECRET_KEY, OTHER_SECRET_KEY, FIRST_SECRET_KEY):
        assert key not in result.stdout
    # A weak SECRET_KEY is never fingerprinted: an unsalted hash of it could be reversed.
    assert fp(FIRST_SECRET_KEY) not in result.stdout
    return result


class GoodSite(SecretKeySite):
    """The playbook site with a valid SECRET_KEY on every host and the configuration values under it;
    every run's output checked (check_output), the setup run set_up_site copies included."""

    def __init__(self, root, database_url, hosts=("panel1",)):
        super(GoodSite, self).__init__(root, database_url, hosts=hosts)
        for host in self.hosts:
            set_host_secret_key(self, host, GOOD_SECRET_KEY)
        webops_db.reseed_config(database_url, GOOD_SECRET_KEY)

    def run(self, playbook, check=False, env=ENV, **extra):
        return check_output(super(GoodSite, self).run(playbook, check=check, env=env, **extra))


def run(site, playbook, **extra):
    return check_output(site.run(playbook, **extra))


def test_setup_escrows_the_hosts_secret_key_and_counts_its_values(tmp_path, sqlite_url):
    site = GoodSite(tmp_path, sqlite_url, hosts=("panel1", "worker1"))

    result = run(site, "setup_encryption.yml", check=True)
    assert result.returncode == 0, output_of(result)
    assert "SECRET_KEY %s: would be escrowed in the vault as webops_secret_key (check mode" % fp(GOOD_SECRET_KEY) in result.stdout
    assert site.vault_data().get("webops_secret_key") is None

    result = run(site, "setup_encryption.yml")
    assert result.returncode == 0, output_of(result)
    vault = site.vault_data()
    assert vault["webops_secret_key"] == GOOD_SECRET_KEY and vault["webops_secret_key_created"]
    assert "SECRET_KEY %s: escrowed in the vault as webops_secret_key" % fp(GOOD_SECRET_KEY) in result.stdout
    # The two sensitive rows (the plain configuration rows are not SECRET_KEY-keyed values).
    assert ("core_configuration.value (SECRET_KEY): 2 rows: 2 open with the SECRET_KEY above, 0 plaintext, "
            "0 empty, 0 that it does not open") in result.stdout, output_of(result)
    escrows = [line for line in site.log_lines() if line["operation"] == "escrow_secret_key"]
    assert escrows and escrows[-1]["fingerprints"] == {"current": fp(GOOD_SECRET_KEY)}
    for host in site.hosts:
        assert site.env_values(host)["SECRET_KEY"] == GOOD_SECRET_KEY

    # A re-run finds it escrowed and writes nothing to the vault.
    with open(site.vault_file(ENV), "rb") as handle:
        vault_bytes = handle.read()
    result = run(site, "setup_encryption.yml")
    assert result.returncode == 0, output_of(result)
    assert "SECRET_KEY %s: already in the vault (webops_secret_key)" % fp(GOOD_SECRET_KEY) in result.stdout
    with open(site.vault_file(ENV), "rb") as handle:
        assert handle.read() == vault_bytes


def test_setup_escrows_a_weak_secret_key_without_fingerprinting_it(tmp_path, sqlite_url):
    site = SecretKeySite(tmp_path, sqlite_url)  # the hosts' SECRET_KEY is weak (django-insecure...)
    result = run(site, "setup_encryption.yml")
    assert result.returncode == 0, output_of(result)
    assert site.vault_data()["webops_secret_key"] == FIRST_SECRET_KEY
    assert "SECRET_KEY a weak SECRET_KEY (not fingerprinted: " in result.stdout
    assert "SECRET_KEY is weak" in result.stdout and "rotate_secret_key.yml" in result.stdout
    with open(site.controller_log) as handle:
        assert fp(FIRST_SECRET_KEY) not in handle.read()


def test_setup_refuses_hosts_with_different_secret_keys_before_any_change(tmp_path, pg_url):
    site = GoodSite(tmp_path, pg_url, hosts=("panel1", "worker1"))
    set_host_secret_key(site, site.hosts[2], OTHER_SECRET_KEY)
    env_before, rows_before, config_before = site.env_bytes(), site.database_state(), webops_db.config_rows(pg_url)

    result = run(site, "setup_encryption.yml")
    assert result.returncode != 0, output_of(result)
    assert "must hold the same SECRET_KEY" in result.stdout, output_of(result)
    assert "%s holds %s" % (site.hosts[0], fp(GOOD_SECRET_KEY)) in result.stdout
    assert "%s holds %s" % (site.hosts[2], fp(OTHER_SECRET_KEY)) in result.stdout
    assert "Nothing was changed" in result.stdout
    # Every byte as it was: each .env, every stored value, and no vault file at all.
    assert site.env_bytes() == env_before
    assert site.database_state() == rows_before and webops_db.config_rows(pg_url) == config_before
    assert not os.path.exists(site.vault_file(ENV))


def test_a_routine_rotation_escrows_a_secret_key_the_vault_lacks_and_refuses_hosts_that_disagree(set_up_site, sqlite_url):
    site = set_up_site(GoodSite, sqlite_url)
    # A vault from before SECRET_KEY custody: no webops_secret_key.
    vault = site.vault_data()
    del vault["webops_secret_key"], vault["webops_secret_key_created"]
    site.write_vault(ENV, vault)

    result = run(site, "rotate_keys.yml")
    assert result.returncode == 0, output_of(result)
    key = site.vault_data()["webops_encryption_key"]
    assert key != site.first_key and all(site.env_values(host)["ENCRYPTION_KEY"] == key for host in site.hosts)
    assert webops_db.digest(sqlite_url, [key], include_unknown=False) == site.digest
    assert site.vault_data()["webops_secret_key"] == GOOD_SECRET_KEY
    assert webops_db.open_config(sqlite_url, [GOOD_SECRET_KEY]) == dict((n, (0, t)) for n, t in PLAINTEXTS.items())

    # One host's SECRET_KEY changed by hand: the next rotation stops in step 1, naming both.
    set_host_secret_key(site, site.hosts[1], OTHER_SECRET_KEY)
    env_before, rows_before = site.env_bytes(), site.database_state()
    with open(site.vault_file(ENV), "rb") as handle:
        vault_before = handle.read()
    result = run(site, "rotate_keys.yml")
    assert result.returncode != 0, output_of(result)
    assert step_of(result.stdout) == 1, output_of(result)
    assert "%s holds %s" % (site.hosts[1], fp(OTHER_SECRET_KEY)) in result.stdout
    assert "%s holds %s" % (site.hosts[0], fp(GOOD_SECRET_KEY)) in result.stdout
    assert site.env_bytes() == env_before and site.database_state() == rows_before
    with open(site.vault_file(ENV), "rb") as handle:
        assert handle.read() == vault_before
    assert site.vault_data()["webops_encryption_key"] == key


def test_rotate_secret_key_escrows_the_hosts_quoted_secret_key_the_vault_lacks_then_rotates_it(set_up_site, sqlite_url):
    site = set_up_site(GoodSite, sqlite_url)
    vault = site.vault_data()
    del vault["webops_secret_key"], vault["webops_secret_key_created"]
    site.write_vault(ENV, vault)
    # Quoted, as an operator may write it: the key is what the application reads, without the quotes.
    set_host_secret_key(site, site.hosts[0], '"%s"' % GOOD_SECRET_KEY)
    lines_before = len(site.log_lines())

    # At -vvv: the key read from the .env for the escrow shows nowhere, nor does the new one.
    result = check_output(site.playbook("rotate_secret_key.yml", [ENV], extra={"env": ENV}, verbosity=3))
    assert result.returncode == 0, output_of(result)
    vault = site.vault_data()
    new = vault["webops_secret_key"]
    assert_no_secret(result.stdout, site.all_keys() + [GOOD_SECRET_KEY, new])
    assert not [text for text in PLAINTEXTS.values() if text in result.stdout]
    assert new != GOOD_SECRET_KEY and [entry["key"] for entry in vault["webops_secret_key_history"]] == [GOOD_SECRET_KEY]
    assert site.env_values(site.hosts[0])["SECRET_KEY"] == new
    assert webops_db.open_config(sqlite_url, [new]) == dict((n, (0, t)) for n, t in PLAINTEXTS.items())
    # Escrowed as the current key in step 1, before the new key was escrowed as next.
    escrowed = [line["fingerprints"] for line in site.log_lines()[lines_before:] if line["operation"] == "escrow_secret_key"]
    assert escrowed and set(map(str, escrowed)) == {str({"current": fp(GOOD_SECRET_KEY)}), str({"next": fp(new)})}
    assert escrowed.index({"current": fp(GOOD_SECRET_KEY)}) < escrowed.index({"next": fp(new)})


def test_a_compromise_rotation_refuses_a_bad_secret_key_setup_in_step_1_before_any_key_changes(set_up_site, sqlite_url):
    site = set_up_site(GoodSite, sqlite_url)
    # A configuration value no known SECRET_KEY opens: the SECRET_KEY rotation cannot be done.
    stranger = "Str4nger-" + "Pl0Ok9Ij8Uh7Yg6Tf5Rd4Es3Wa2Qz1Xc" + "w" * 12
    webops_db.reseed_config(sqlite_url, GOOD_SECRET_KEY,
                            extra=((9, "stray", webops_db.config_value(stranger, "x"), True),))
    env_before, rows_before = site.env_bytes(), site.database_state()
    with open(site.vault_file(ENV), "rb") as handle:
        vault_before = handle.read()

    result = run(site, "rotate_keys.yml", reason="compromise")
    assert result.returncode != 0, output_of(result)
    assert step_of(result.stdout) == 1, output_of(result)
    assert "core_configuration.value" in result.stdout and "ids [9]" in result.stdout, output_of(result)
    # No ENCRYPTION_KEY (nor SECRET_KEY) changed anywhere: not on a host, not in a row, not in the vault.
    assert site.env_bytes() == env_before and site.database_state() == rows_before
    with open(site.vault_file(ENV), "rb") as handle:
        assert handle.read() == vault_before
    assert "webops_encryption_key_next" not in site.vault_data()


def test_verify_keys_fails_on_a_host_and_vault_secret_key_mismatch_and_passes_when_they_match(set_up_site, sqlite_url):
    site = set_up_site(GoodSite, sqlite_url)

    result = run(site, "verify_keys.yml")
    assert result.returncode == 0, output_of(result)
    for host in site.hosts:
        assert "%s: SECRET_KEY %s" % (host, fp(GOOD_SECRET_KEY)) in result.stdout
    assert re.search(r"vault: webops_secret_key %s, created \S+, 0 days old" % fp(GOOD_SECRET_KEY), result.stdout), output_of(result)
    assert ("core_configuration.value (SECRET_KEY): 2 rows: 2 under %s (the database host's), 0 plaintext, 0 empty"
            % fp(GOOD_SECRET_KEY)) in result.stdout, output_of(result)
    assert "not checked" not in result.stdout

    # The vault holds another SECRET_KEY than the hosts: a finding that fails the run.
    vault = site.vault_data()
    vault["webops_secret_key"] = OTHER_SECRET_KEY
    site.write_vault(ENV, vault)
    result = run(site, "verify_keys.yml")
    assert result.returncode != 0, output_of(result)
    assert "the vault's webops_secret_key is %s" % fp(OTHER_SECRET_KEY) in result.stdout, output_of(result)
    assert "hold %s" % fp(GOOD_SECRET_KEY) in result.stdout
    verifies = [line for line in site.log_lines() if line["operation"] == "verify"]
    assert verifies[-1]["outcome"] == "failure"

    vault["webops_secret_key"] = GOOD_SECRET_KEY
    site.write_vault(ENV, vault)
    result = run(site, "verify_keys.yml")
    assert result.returncode == 0, output_of(result)
    assert [line for line in site.log_lines() if line["operation"] == "verify"][-1]["outcome"] == "success"


def test_backup_keys_writes_both_keys_to_the_vault_and_to_gpg(set_up_site, tmp_path, sqlite_url):
    site = set_up_site(GoodSite, sqlite_url)
    vault = site.vault_data()
    del vault["webops_secret_key"], vault["webops_secret_key_created"]
    site.write_vault(ENV, vault)
    passphrase = os.path.join(site.root, "gpg-passphrase")
    with open(passphrase, "w") as handle:
        handle.write(Fernet.generate_key().decode() + "\n")
    gpg_dir = os.path.join(site.root, "key-backups")
    gnupghome = tmp_path / "gnupg"
    gnupghome.mkdir(mode=0o700)
    os.environ["GNUPGHOME"] = str(gnupghome)
    try:
        result = run(site, "backup_keys.yml", webops_custody_stores=["vault", "gpg"],
                     webops_custody_gpg_passphrase_file=passphrase, webops_custody_gpg_dir=gpg_dir)
        assert result.returncode == 0, output_of(result)
        vault = site.vault_data()
        assert vault["webops_secret_key"] == GOOD_SECRET_KEY and vault["webops_encryption_key"] == site.first_key
        files = sorted(os.path.basename(path) for path in glob.glob(os.path.join(gpg_dir, "*.asc")))
        encryption_file = "%s-%s.asc" % (ENV, encryption_fingerprint(site.first_key).replace(":", "-"))
        secret_file = "%s-secret-key-%s.asc" % (ENV, fp(GOOD_SECRET_KEY).replace(":", "-"))
        assert files == sorted([encryption_file, secret_file])
        for name, line in ((encryption_file, "ENCRYPTION_KEY=%s\n" % site.first_key),
                           (secret_file, "SECRET_KEY=%s\n" % GOOD_SECRET_KEY)):
            path = os.path.join(gpg_dir, name)
            assert os.stat(path).st_mode & 0o777 == 0o600
            with open(path) as handle:
                assert line.split("=", 1)[1].strip() not in handle.read()
            # The operator guide's restore command.
            plain = subprocess.run(["gpg", "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase-file", passphrase,
                                    "--decrypt", path], stdout=subprocess.PIPE, check=True, universal_newlines=True).stdout
            assert line in plain
        backups = [line for line in site.log_lines() if line["operation"] == "backup"]
        assert backups[-1]["fingerprints"] == {"current": encryption_fingerprint(site.first_key),
                                               "secret_key": fp(GOOD_SECRET_KEY)}
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], check=False)
        del os.environ["GNUPGHOME"]
