#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: fernet_key
short_description: Ensure a variable of a .env file holds a valid Fernet key
version_added: 0.1.0
description:
  - Makes sure a variable of the application's C(.env) (by default C(ENCRYPTION_KEY)) holds a Fernet key
    that the WebOps control panel accepts (32 bytes in url-safe or standard base64).
  - Generates a key on the host when none is there, or writes a given O(key), which is how one key made on the
    controller (see the P(webops.encryption.fernet_generate#lookup) lookup) reaches every host of an environment.
  - An existing key is never replaced silently; see O(regenerate). Data encrypted under a replaced key can only
    be read again with that key, so replace a key with a rotation, not with this module alone.
  - Removes a variable with O(state=absent), for example C(OLD_ENCRYPTION_KEY) once a rotation is complete.
  - Results carry key fingerprints (C(sha256:) and 16 hex digits of the SHA-256 of the key bytes), never a key.
version_added_collection: webops.encryption
author:
  - webops.encryption contributors (@webops)
options:
  name:
    description:
      - Name of the variable that holds the key.
    type: str
    default: ENCRYPTION_KEY
  key:
    description:
      - The key the variable must hold, in url-safe or standard base64. It is written in url-safe form.
      - When omitted, a missing (or empty) variable gets a newly generated key, and an existing valid key is kept.
      - A hex key (C(openssl rand -hex 32)) or anything that does not decode to 32 bytes is refused.
    type: str
  state:
    description:
      - V(present) makes the variable hold a valid key; V(absent) removes the variable (its value is not checked).
    type: str
    choices: [present, absent]
    default: present
  regenerate:
    description:
      - What to do when the variable already holds something other than the wanted key (in the spirit of
        the O(community.crypto.openssl_privatekey#module:regenerate) option).
      - V(fail) (default) fails, writing nothing, when the existing value is not a valid key, or when it is a valid
        key that differs from O(key).
      - V(never) keeps an existing valid key even when it differs from O(key) (a warning names both fingerprints),
        and fails when the existing value is not a valid key.
      - V(always) writes O(key), or a newly generated key when O(key) is omitted, over whatever is there. Without
        O(key) this makes a new key on every run. Anything encrypted under the replaced key becomes unreadable
        unless that key is kept elsewhere.
      - A variable that holds the same key as O(key) is never rewritten, whatever its base64 alphabet.
    type: str
    choices: [fail, never, always]
    default: fail
extends_documentation_fragment:
  # Ours first: the first fragment to define an option or attribute wins (mode defaults to 0600 here).
  - webops.encryption.keys
  - webops.encryption.keys.attributes
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
  - ansible.builtin.files
notes:
  - The module needs no third-party Python library on the host; keys are generated from C(os.urandom).
  - Unknown O(owner) or O(group) names fail before anything is written.
seealso:
  - module: webops.encryption.fernet_key_info
  - module: webops.encryption.env_file
  - plugin: webops.encryption.fernet_generate
    plugin_type: lookup
  - plugin: webops.encryption.fernet_fingerprint
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Make sure the application has a key (generated on the host when missing)
  webops.encryption.fernet_key:
    path: /opt/webops/.env
    owner: webops
    group: webops

- name: Generate one key for the whole environment on the controller
  ansible.builtin.set_fact:
    webops_new_key: "{{ lookup('webops.encryption.fernet_generate') }}"
  run_once: true
  no_log: true

- name: Give every host of the environment that key (fails if a different key is there)
  webops.encryption.fernet_key:
    path: /opt/webops/control-panel/.env   # a symlink: the link is kept, /opt/webops/.env is written
    key: "{{ webops_new_key }}"
    backup: true
  register: webops_key_result

- name: Show which key the host now has
  ansible.builtin.debug:
    msg: "{{ webops_key_result.fingerprint }}"

- name: Keep whatever valid key a host already has, warn when it is not the vault's key
  webops.encryption.fernet_key:
    path: /opt/webops/.env
    key: "{{ webops_encryption_key }}"
    regenerate: never

- name: Remove the previous key once every row is re-encrypted
  webops.encryption.fernet_key:
    path: /opt/webops/.env
    name: OLD_ENCRYPTION_KEY
    state: absent
"""

RETURN = r"""
fingerprint:
  description:
    - Fingerprint of the key the variable holds after the run (C(sha256:) and 16 hex digits).
    - V(null) with O(state=absent), and in check mode when a key would be generated.
  returned: success
  type: str
  sample: sha256:5f2b9c0e1d7a4b3c
previous_fingerprint:
  description: Fingerprint of the valid key the variable held before the run, V(null) when it held none.
  returned: success
  type: str
  sample: sha256:0a1b2c3d4e5f6789
encoding:
  description: Base64 alphabet of the key in the file, V(urlsafe) or V(standard); V(null) when there is no key.
  returned: success
  type: str
  sample: urlsafe
generated:
  description: Whether a new key was generated (or would be, in check mode).
  returned: success
  type: bool
  sample: false
path:
  description:
    - The file that holds the variable (the target when O(path) is a symlink). Ansible adds its C(mode),
      C(owner), C(group), C(size) and C(state) next to it.
  returned: success
  type: str
  sample: /opt/webops/.env
name:
  description: The variable's name.
  returned: success
  type: str
  sample: ENCRYPTION_KEY
backup_file:
  description: Name of the backup file made before the change.
  returned: changed and O(backup=true)
  type: str
  sample: /opt/webops/.env.4242.2026-11-29@21:15:03~
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.webops.encryption.plugins.module_utils.fernet import (
    InvalidKeyError,
    MissingKeyError,
    generate_key,
    key_fingerprint,
    parse_key,
)
from ansible_collections.webops.encryption.plugins.module_utils._dotenv import valid_name
from ansible_collections.webops.encryption.plugins.module_utils._keyfile import FILE_ARGUMENT_SPEC, EnvFile


def main():
    argument_spec = dict(
        path=dict(type="path", required=True),
        name=dict(type="str", default="ENCRYPTION_KEY"),
        key=dict(type="str", no_log=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        regenerate=dict(type="str", default="fail", choices=["fail", "never", "always"]),
        backup=dict(type="bool", default=False),
        create=dict(type="bool", default=True),
    )
    argument_spec.update(FILE_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, add_file_common_args=True, supports_check_mode=True)
    params = module.params
    name = params["name"]
    if not valid_name(name):
        module.fail_json(msg="name=%s is not a valid variable name (letters, digits and _, not starting with a digit)" % name)

    wanted = None
    if params["key"] is not None and params["state"] == "present":
        try:
            wanted = parse_key(params["key"], name)
        except (MissingKeyError, InvalidKeyError) as exc:
            module.fail_json(msg="option key: %s" % exc)

    env_file = EnvFile(module, params["path"], params["create"])
    # The real file (a symlink's target), so the file attributes Ansible adds to the result are its own.
    result = dict(changed=False, path=env_file.target, name=name, fingerprint=None, previous_fingerprint=None,
                  encoding=None, generated=False)

    throwaway = None
    if params["state"] == "absent":
        if not env_file.existed and params["create"]:
            module.exit_json(**result)
        env = env_file.load()
        previous = env.get(name)
        result["previous_fingerprint"] = key_fingerprint(previous)
        env.remove(name)
    else:
        env = env_file.load()
        current = _current_key(module, env, name, params["path"], params["regenerate"])
        if current is not None:
            result["previous_fingerprint"] = current.fingerprint
        new = _decide(module, current, wanted, params["regenerate"], name, params["path"])
        if new is None:
            result.update(fingerprint=current.fingerprint, encoding=current.encoding)
        else:
            if new == "generate":
                result["generated"] = True
                new = parse_key(generate_key(), name)
                if module.check_mode:
                    # This key is thrown away: showing its fingerprint would be a lie.
                    throwaway = new
            env.set(name, new.urlsafe)
            result["encoding"] = "urlsafe"
            result["fingerprint"] = None if throwaway is not None else new.fingerprint

    changed, backup_file, attribute_diff = env_file.commit(backup=params["backup"])
    result["changed"] = changed
    if backup_file:
        result["backup_file"] = backup_file
    if module._diff:
        result["diff"] = env_file.diff(attribute_diff)
        if throwaway is not None:
            result["diff"][0]["after"] = result["diff"][0]["after"].replace(
                "<fernet key %s>" % throwaway.fingerprint, "<new fernet key>")
    module.exit_json(**result)


def _current_key(module, env, name, path, regenerate):
    """The valid key the variable holds, None when it is missing or empty; an invalid value
    fails unless regenerate=always."""
    try:
        return parse_key(env.get(name), name)
    except MissingKeyError:
        return None
    except InvalidKeyError as exc:
        if regenerate == "always":
            return None
        module.fail_json(msg="%s in %s: %s. Nothing was changed. Put a valid key there, or set regenerate=always "
                             "to replace it (anything encrypted under the current value stays unreadable)."
                             % (name, path, exc))


def _decide(module, current, wanted, regenerate, name, path):
    """Return None to keep ``current``, a FernetKey to write, or "generate"."""
    if current is None:
        return wanted or "generate"
    if wanted is None:
        return "generate" if regenerate == "always" else None
    if wanted == current:
        return None
    if regenerate == "always":
        return wanted
    if regenerate == "never":
        module.warn("%s in %s holds the key %s, not the given key %s; kept it because regenerate=never"
                    % (name, path, current.fingerprint, wanted.fingerprint))
        return None
    module.fail_json(msg="%s in %s holds a different key (%s) than the given key (%s). Nothing was changed. Rotate "
                         "the data to the new key first, then set regenerate=always (or regenerate=never to keep it)."
                     % (name, path, current.fingerprint, wanted.fingerprint),
                     fingerprint=current.fingerprint)


if __name__ == "__main__":
    main()
