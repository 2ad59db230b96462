# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""Evidence records of key operations: build, validate, hash, write, sign and re-check them.

A record is one JSON document per real rotate_keys, rotate_secret_key or verify_keys run (schema in
_evidence_schema). Its SHA-256 goes into an ``evidence`` line of the audit trail, so a record changed
afterwards no longer matches any line; with a gpg signer a detached signature is written beside it.
Plain Python: the evidence_record and evidence_check modules are thin wrappers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import json
import os
import re
import uuid

from ansible_collections.webops.encryption.plugins.module_utils._dotenv import write_atomic
from ansible_collections.webops.encryption.plugins.module_utils._evidence_html import render_html
from ansible_collections.webops.encryption.plugins.module_utils._evidence_schema import SCHEMA, SCHEMA_ID, SCHEMA_VERSION
from ansible_collections.webops.encryption.plugins.module_utils.fernet import key_material_at

OPERATIONS = ("rotate_keys", "rotate_secret_key", "verify_keys")
# refused: the run stopped in its preflight, before anything was written (as its audit line says).
OUTCOMES = ("success", "failure", "refused")
# A label that is not a key: the SECRET_KEY values an audit could not open without the SECRET_KEY.
NOT_CHECKED = "not checked"
# Why a run leaves the columns keyed by SECRET_KEY unopened (the record's not_checked says so; its status
# covers only what the run opened).
NOT_CHECKED_WHY = {
    "rotate_keys": "a rotate_keys run without -e reason=compromise (or -e rotate_secret_key=true) does not use the "
                   "SECRET_KEY, so it counts these values without opening them; verify_keys.yml opens them",
    "verify_keys": "the run had no SECRET_KEY to open them with, or could not count them with it (see its findings)",
    "rotate_secret_key": "the run stopped before it counted them with the SECRET_KEY",
}


class EvidenceError(ValueError):
    """A record that cannot be written or checked. Messages hold no key material."""


# -- building -----------------------------------------------------------------------------------

def utc_text(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(value):
    """A UNIX timestamp (float or its text) or an ISO text, as the schema's UTC text."""
    if isinstance(value, (int, float)) or (isinstance(value, str) and re.match(r"^[0-9]+(\.[0-9]+)?$", value)):
        return utc_text(datetime.datetime.fromtimestamp(float(value), datetime.timezone.utc))
    if isinstance(value, str) and re.match(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$", value):
        return value
    raise EvidenceError("not a time: %r (give a UNIX timestamp or YYYY-MM-DDTHH:MM:SSZ)" % (value,))


def _label(labels, name):
    """A key name's label: its fingerprint from ``labels``; the roles name retired keys "retired <fingerprint>"."""
    if name in labels:
        return str(labels[name])
    name = str(name)
    return name[len("retired "):] if name.startswith("retired sha256:") else name


def _bool(value):
    """A boolean the playbooks may pass as text ("False" is false)."""
    return value is True or str(value).strip().lower() in ("true", "yes", "1")


def _none(value):
    return value in (None, "", "None", "none", "null")


def _int(value):
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0


def _counts(column, labels, secret_labels):
    """A fernet_audit column's counts by key label (fingerprint): by_key for ENCRYPTION_KEY columns,
    secret_keys for SECRET_KEY ones (NOT_CHECKED when it was audited without a SECRET_KEY)."""
    counts = {}
    if column.get("keyed_by") == "SECRET_KEY":
        named, names = column.get("secret_keys"), secret_labels
        if named is None and _int(column.get("unverified")):
            counts[NOT_CHECKED] = _int(column.get("unverified"))
    else:
        named, names = column.get("by_key"), labels
    for name, count in sorted((named or {}).items()):
        if _int(count):
            label = _label(names, name)
            counts[label] = counts.get(label, 0) + _int(count)
    return counts


def _not_checked(column):
    """A SECRET_KEY column an audit without the SECRET_KEY saw (its values are not counted by key)."""
    return column.get("keyed_by") == "SECRET_KEY" and column.get("secret_keys") is None


def _columns(before, after, current):
    """Per column: counts before and after by label, what the after state leaves behind, and whether the run
    opened its values (``checked``: false for a SECRET_KEY column only counted without the SECRET_KEY).

    ``before`` and ``after`` are each one count (columns, labels, secret_labels) or a list of the counts
    the run already made, in order: a later one replaces an earlier one's column, except that a SECRET_KEY
    column it could not open keeps an earlier one's counts. Columns a count does not cover are left out."""
    def index(sides):
        found = {}
        for side in sides if isinstance(sides, list) else [sides]:
            for column in (side or {}).get("columns") or []:
                name = (column.get("table"), column.get("column"))
                if name in found and _not_checked(column) and not _not_checked(found[name][1]):
                    continue
                found[name] = (_counts(column, side.get("labels") or {}, side.get("secret_labels") or {}), column)
        return found

    before_index, after_index = index(before), index(after)
    columns = []
    for name in sorted(set(before_index) | set(after_index), key=lambda n: (str(n[0]), str(n[1]))):
        before_counts = before_index.get(name, ({}, {}))[0]
        after_counts, after_column = after_index.get(name, ({}, {}))
        source = after_column or before_index[name][1]
        retired = sum(count for label, count in after_counts.items() if label not in current and label != NOT_CHECKED)
        columns.append(dict(
            table=str(name[0]), column=str(name[1]),
            keyed_by="SECRET_KEY" if source.get("keyed_by") == "SECRET_KEY" else "ENCRYPTION_KEY",
            before=before_counts, after=after_counts,
            plaintext=_int(after_column.get("plaintext")), unknown=_int(after_column.get("unknown")),
            left_under_retired=retired, checked=not _not_checked(source),
        ))
    return columns


def _discovery(discovery):
    labels = discovery.get("labels") or {}
    columns = []
    for column in discovery.get("columns") or []:
        by_key = {}
        for name, count in sorted((column.get("by_key") or {}).items()):
            if _int(count):
                label = _label(labels, name)
                by_key[label] = by_key.get(label, 0) + _int(count)
        columns.append(dict(table=str(column.get("table")), column=str(column.get("column")), by_key=by_key,
                            unknown=_int(column.get("unknown"))))
    ignored = [dict(table=str(i.get("table")), column=str(i.get("column")), reason=str(i.get("reason", "")))
               for i in discovery.get("ignored") or []]
    return dict(columns=columns, ignored=ignored)


def _key(entry):
    escrow = entry.get("escrow") or {}
    age = entry.get("age_days")
    rotation_days = max(_int(entry.get("rotation_days")), 1)
    age = None if _none(age) else int(age)
    return dict(
        name=entry.get("name", "ENCRYPTION_KEY"), fingerprint=str(entry.get("fingerprint") or ""),
        created=None if _none(entry.get("created")) else str(entry["created"]), age_days=age, rotation_days=rotation_days,
        overdue=age is None or age > rotation_days,
        escrow=dict(vault_file=str(escrow.get("vault_file") or ""), in_vault=_bool(escrow.get("in_vault")),
                    gpg_file=None if _none(escrow.get("gpg_file")) else str(escrow["gpg_file"]),
                    gpg_present=_bool(escrow.get("gpg_present"))),
    )


def not_checked(record):
    """What the record's status does not cover: one text per column the run counted without opening."""
    why = NOT_CHECKED_WHY.get(record["operation"], "the run did not open them")
    texts = []
    for column in record["columns"]:
        if not column["checked"]:
            counted = sum((column["after"] or column["before"]).values())
            texts.append("%s.%s: %d value(s) keyed by %s counted, not opened: %s."
                         % (column["table"], column["column"], counted, column["keyed_by"], why))
    return texts


def judge(record):
    """(status, reasons): complete when the run succeeded and every value it opened is under a current key
    (the columns it did not open are the record's not_checked, never counted as fine)."""
    reasons = []
    if record["outcome"] != "success":
        reasons.append("The run %s%s." % ("was refused" if record["outcome"] == "refused" else "failed",
                                          ": " + "; ".join(record["problems"]) if record.get("problems") else ""))
    for column in record["columns"]:
        where = "%s.%s" % (column["table"], column["column"])
        if column["left_under_retired"]:
            reasons.append("%s: %d value(s) left under a retired key." % (where, column["left_under_retired"]))
        if column["unknown"]:
            reasons.append("%s: %d value(s) no known key opens." % (where, column["unknown"]))
    return ("incomplete" if reasons else "complete"), reasons


def build_record(inputs, ended=None, record_id=None):
    """The record for one run from the playbook's inputs (see the evidence_record module's options)."""
    operation = inputs.get("operation")
    if operation not in OPERATIONS:
        raise EvidenceError("operation must be one of %s, not %r" % (", ".join(OPERATIONS), operation))
    current = set(str(label) for label in inputs.get("current") or [] if label)
    units = inputs.get("units") or {}
    stopped = units.get("stopped_seconds")
    record = dict(
        schema=SCHEMA_ID, schema_version=SCHEMA_VERSION, id=record_id or uuid.uuid4().hex,
        environment=str(inputs.get("environment") or ""), operation=operation,
        started=_time(inputs.get("started")),
        ended=_time(ended if ended is not None else utc_text(datetime.datetime.now(datetime.timezone.utc))),
        user=str(inputs.get("user") or ""), command=str(inputs.get("command") or ""),
        versions=dict(collection=str(inputs.get("collection_version") or ""),
                      ansible_core=str(inputs.get("ansible_version") or "")),
        outcome=inputs.get("outcome", "success") if inputs.get("outcome", "success") in OUTCOMES else "failure",
        columns=_columns(inputs.get("before") or {}, inputs.get("after") or {}, current),
        discovery=_discovery(inputs.get("discovery") or {}),
        units=dict(strategy=str(units.get("strategy") or ""), managed=_bool(units.get("managed")),
                   services=[str(s) for s in units.get("services") or []],
                   stopped_seconds=None if _none(stopped) else round(float(stopped), 3)),
        keys=[_key(entry) for entry in inputs.get("keys") or []],
        audit_lines=[str(i) for i in inputs.get("audit_lines") or [] if i],
    )
    record["problems"] = [str(p) for p in inputs.get("problems") or [] if p]
    record["status"], record["status_reasons"] = judge(record)
    record["not_checked"] = not_checked(record)
    del record["problems"]
    validate(record)
    return record


def label_secret_keys(sides, labeller):
    """Give each count that names its SECRET_KEYs (``secret_keys``: the audit's keys in its order, current
    first) their labels instead (``secret_labels``), all labelled together by ``labeller`` (secret_key.Labels):
    a weak key is named the same way on every side. Returns the sides (copies) and the label of the last
    side's current SECRET_KEY (None without one)."""
    everything = []
    for side in sides:
        everything += [key for key in side.get("secret_keys") or [] if key and key not in everything]
    label = labeller(everything)
    labelled, current = [], None
    for side in sides:
        side = dict(side)
        keys = side.pop("secret_keys", None)
        if keys:
            side["secret_labels"] = dict(("current" if index == 0 else "old%d" % (index - 1), label(key))
                                         for index, key in enumerate(keys) if key)
            current = side["secret_labels"].get("current")
        labelled.append(side)
    return labelled, current


def key_entries(current, reports, rotation_days, vault_file, gpg_dir=None, environment=""):
    """The record's keys: each key in use (``current``: [{name, label}]) with its age and escrow.

    ``reports``: {name: the vault's report of it (fingerprint, created, age_days)}, from _custody.Custody.report;
    ``gpg_dir``: the gpg store's directory (None without one), its files named as custody's gpg_store names them."""
    entries = []
    for key in current or []:
        secret = key.get("name") == "SECRET_KEY"
        label = str(key.get("label") or "")
        escrowed = (reports or {}).get(key.get("name")) or {}
        gpg_file = None
        if gpg_dir:
            named = label.replace(":", "-") if label.startswith("sha256:") else "weak"
            gpg_file = os.path.join(gpg_dir, "%s-%s%s.asc" % (environment, "secret-key-" if secret else "", named))
        entries.append(dict(
            name=key.get("name"), fingerprint=label, created=escrowed.get("created"), age_days=escrowed.get("age_days"),
            rotation_days=rotation_days,
            # A weak SECRET_KEY has no fingerprint: escrowed means the vault holds a SECRET_KEY at all.
            escrow=dict(vault_file=vault_file,
                        in_vault=bool(escrowed) and (escrowed.get("fingerprint") == label or not label.startswith("sha256:")),
                        gpg_file=gpg_file, gpg_present=bool(gpg_file) and os.path.exists(gpg_file)),
        ))
    return entries


def audit_entry(operation, environment, host, user, outcome, details, reason=None, fingerprints=None, counts=None,
                run=None):
    """One audit-trail line's entry (the audit_log module's form), refused when it holds key material."""
    entry = dict(id=uuid.uuid4().hex, time=utc_text(datetime.datetime.now(datetime.timezone.utc)),
                 environment=environment, host=host, operation=operation, user=user, outcome=outcome, reason=reason,
                 fingerprints=fingerprints or {}, counts=counts, details=details or {})
    if run:
        entry["run"] = run
    where = key_material_at(entry)
    if where:
        raise EvidenceError("refusing to write the audit entry: %s holds what looks like a Fernet key or token; "
                            "pass fingerprints (webops.encryption.fernet_fingerprint), never keys" % where)
    return entry


# -- schema -------------------------------------------------------------------------------------

_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _is_type(value, name):
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES[name])


def schema_errors(value, schema=None, where="record"):
    """Every place ``value`` breaks ``schema`` (the subset of JSON Schema the record schema uses)."""
    schema = SCHEMA if schema is None else schema
    errors = []
    if "const" in schema and value != schema["const"]:
        return ["%s: must be %r" % (where, schema["const"])]
    if "enum" in schema and value not in schema["enum"]:
        return ["%s: must be one of %s" % (where, ", ".join(map(str, schema["enum"])))]
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(value, t) for t in types):
            return ["%s: must be %s" % (where, " or ".join(types))]
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
            errors.append("%s: wrong length" % where)
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append("%s: does not match %s" % (where, schema["pattern"]))
    if _is_type(value, "number") and "minimum" in schema and value < schema["minimum"]:
        errors.append("%s: below %s" % (where, schema["minimum"]))
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                errors.append("%s: %s is missing" % (where, name))
        properties = schema.get("properties", {})
        for name, item in value.items():
            if name in properties:
                errors += schema_errors(item, properties[name], "%s.%s" % (where, name))
            elif schema.get("additionalProperties") is False:
                errors.append("%s: unexpected %s" % (where, name))
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += schema_errors(item, schema["additionalProperties"], "%s.%s" % (where, name))
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            errors += schema_errors(item, schema["items"], "%s[%d]" % (where, index))
    return errors


def validate(record):
    errors = schema_errors(record)
    if errors:
        raise EvidenceError("the evidence record does not match its schema: %s" % "; ".join(errors[:10]))
    where = key_material_at(record, "record")
    if where:
        raise EvidenceError("refusing to write the evidence record: %s holds what looks like a Fernet key or token; "
                            "records name keys by fingerprint only" % where)


# -- files --------------------------------------------------------------------------------------

def serialise(record):
    return json.dumps(record, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def sha256_of(data):
    return "sha256:" + hashlib.sha256(data if isinstance(data, bytes) else data.encode("utf-8")).hexdigest()


def record_name(record):
    stamp = record["started"].replace("-", "").replace(":", "")
    return "%s-%s-%s.json" % (stamp, record["operation"], record["id"][:8])


def make_directory(directory):
    """The evidence directory, created 0700 (parents too) and narrowed to 0700 when it exists."""
    os.makedirs(directory, 0o700, exist_ok=True)
    if os.stat(directory).st_mode & 0o777 != 0o700:
        os.chmod(directory, 0o700)


def gpg_sign(path, signer, gpg):
    """The armored detached signature of ``path`` by ``signer`` (text). ``gpg(arguments)`` runs gpg
    and returns (rc, stdout, stderr) as text: a module's run_command, or the controller's runner."""
    rc, out, err = gpg(["--batch", "--quiet", "--yes", "--armor", "--local-user", signer, "--detach-sign", "--output", "-", path])
    if rc != 0 or not out:
        raise EvidenceError("gpg could not sign %s as %s: %s" % (path, signer, (err or "")[-500:]))
    return out


def gpg_verify(path, signature, gpg):
    """Whether ``signature`` is a good signature of ``path`` (gpg --verify; ``gpg`` as for gpg_sign)."""
    return gpg(["--batch", "--quiet", "--verify", signature, path])[0] == 0


def write_record(directory, record, signer="", gpg=None):
    """Write the record, its HTML report and (with a signer) its signature; all atomic, mode 0600.
    Returns the paths and the record's SHA-256."""
    validate(record)
    make_directory(directory)
    path = os.path.join(directory, record_name(record))
    text = serialise(record)
    write_atomic(path, text)
    html_path = path[:-len(".json")] + ".html"
    write_atomic(html_path, render_html(record))
    signature = None
    if signer:
        if gpg is None:
            raise EvidenceError("signing the record as %s needs gpg" % signer)
        signature = path + ".asc"
        write_atomic(signature, gpg_sign(path, signer, gpg))
    return dict(path=path, html=html_path, signature=signature, sha256=sha256_of(text))


# -- checking -----------------------------------------------------------------------------------

def read_audit_lines(path):
    """The audit log's entries (a line that is not JSON is skipped: the check names what it cannot match)."""
    entries = []
    with open(path, "rb") as handle:
        for line in handle:
            try:
                entry = json.loads(line.decode("utf-8"))
            except ValueError:
                continue
            if isinstance(entry, dict):
                entries.append(entry)
    return entries


def check_directory(directory, audit_entries, gpg, environment=None):
    """Check every record of ``directory`` against the audit trail; a list with one dict per record
    (and per evidence line whose record is gone) naming its problems (empty: intact) and its signature's
    verdict: ``good`` or ``bad`` (gpg --verify, through ``gpg`` as for gpg_sign), ``missing`` (the audit
    trail says signed), None (unsigned)."""
    evidence_lines = [e for e in audit_entries if e.get("operation") == "evidence"
                      and (environment is None or e.get("environment") == environment)]
    by_record = {}
    for entry in evidence_lines:
        details = entry.get("details") or {}
        by_record.setdefault(details.get("record"), []).append(details)
    ids = set(e.get("id") for e in audit_entries if e.get("id"))
    results = []
    names = sorted(n for n in os.listdir(directory) if n.endswith(".json")) if os.path.isdir(directory) else []
    for name in names:
        path = os.path.join(directory, name)
        problems = []
        with open(path, "rb") as handle:
            data = handle.read()
        digest = sha256_of(data)
        lines = by_record.get(name, [])
        line = next((d for d in lines if d.get("sha256") == digest), None)
        if not lines:
            problems.append("no evidence line of the audit trail names this record")
        elif line is None:
            problems.append("its SHA-256 %s is not the one the audit trail recorded (%s): the record was changed"
                            % (digest, ", ".join(sorted(set(str(d.get("sha256")) for d in lines)))))
        record = None
        try:
            record = json.loads(data.decode("utf-8"))
        except ValueError:
            problems.append("it is not JSON")
        if record is not None:
            problems += ["schema: %s" % e for e in schema_errors(record)[:5]]
            if isinstance(record, dict):
                missing = [i for i in record.get("audit_lines") or [] if i not in ids]
                if missing:
                    problems.append("audit lines %s are not in the audit trail" % ", ".join(map(str, missing)))
                html_path = path[:-len(".json")] + ".html"
                if os.path.exists(html_path):
                    with open(html_path, "rb") as handle:
                        if not problems and handle.read() != render_html(record).encode("utf-8"):
                            problems.append("its HTML report is not the one rendered from the record")
                else:
                    problems.append("its HTML report is missing")
        signature, verdict = path + ".asc", None
        signed = any(d.get("signed") for d in lines)
        if os.path.exists(signature):
            verdict = "good" if gpg_verify(path, signature, gpg) else "bad"
            if verdict == "bad":
                problems.append("its gpg signature does not verify")
        elif signed:
            verdict = "missing"
            problems.append("the audit trail says it was signed, but its signature %s is missing" % os.path.basename(signature))
        results.append(dict(record=name, sha256=digest, signed=os.path.exists(signature), signature=verdict, problems=problems,
                            status=(record or {}).get("status") if isinstance(record, dict) else None))
    for name in sorted(n for n in by_record if n and n not in names):
        results.append(dict(record=name, sha256=None, signed=False, signature=None, status=None,
                            problems=["the audit trail names this record, but it is not in the directory"]))
    return results
