# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The .env reader/writer: byte-exact round trips (property tests), decouple's reading, atomic writes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import multiprocessing
import os
import stat

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ansible_collections.webops.encryption.plugins.module_utils._dotenv import (
    DotEnv,
    DotEnvError,
    format_value,
    read_env_file,
    write_atomic,
)


def decouple_read(text):
    """python-decouple's RepositoryEnv, line for line (text mode: universal newlines)."""
    data = {}
    for line in io.StringIO(text, newline=None):
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        k = k.strip()
        v = v.strip()
        if len(v) >= 2 and ((v[0] == "'" and v[-1] == "'") or (v[0] == '"' and v[-1] == '"')):
            v = v[1:-1]
        data[k] = v
    return data


# --- strategies -------------------------------------------------------------------------------
names = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,12}\Z")
line_text = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=30)
spaces = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def assignment(draw, name):
    value = draw(line_text)
    quote = draw(st.sampled_from(["", "'", '"']))
    return "%s%s%s=%s%s%s%s" % (draw(spaces), name, draw(spaces), draw(spaces), quote, value, quote)


@st.composite
def env_texts(draw):
    """A .env with unique names, comments, blank lines, LF or CRLF, with or without a final newline."""
    var_names = draw(st.lists(names, unique=True, max_size=8))
    lines = [draw(assignment(n)) for n in var_names]
    for _extra in range(draw(st.integers(0, 4))):
        extra = draw(st.one_of(
            line_text.map(lambda t: "#" + t),
            st.tuples(spaces, line_text).map(lambda p: p[0] + "#" + p[1]),
            spaces,
        ))
        lines.insert(draw(st.integers(0, len(lines))), extra)
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(lines)
    if lines and draw(st.booleans()):
        text += newline
    return text


settable_values = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=40)


def writable(value):
    try:
        format_value(value)
    except DotEnvError:
        return False
    return True


# --- properties -------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(env_texts())
def test_parse_then_render_is_byte_identical_and_reads_like_decouple(text):
    env = DotEnv(text)
    assert env.render() == text
    reference = decouple_read(text)
    assert sorted(reference) == env.names()
    for name, value in reference.items():
        assert env.get(name) == value


@settings(max_examples=200, deadline=None)
@given(env_texts(), names, settable_values)
def test_set_changes_only_its_line(text, name, value):
    assume(writable(value))
    env = DotEnv(text)
    before = list(env.lines)
    existed = name in env
    old_value = env.get(name)
    changed = env.set(name, value)
    assert changed == (old_value != value)
    rendered = env.render()
    assert decouple_read(rendered)[name] == value
    assert DotEnv(rendered).get(name) == value
    others = {k: v for k, v in decouple_read(text).items() if k != name}
    assert {k: v for k, v in decouple_read(rendered).items() if k != name} == others
    if not changed:
        assert rendered == text
    elif existed:
        changed_lines = [i for i, (a, b) in enumerate(zip(before, env.lines)) if a != b]
        assert len(env.lines) == len(before) and len(changed_lines) == 1
        # The line keeps its own ending.
        assert env.lines[changed_lines[0]].endswith("\r\n") == before[changed_lines[0]].endswith("\r\n")
    else:
        newline = "\r\n" if "\r\n" in text else "\n"
        assert env.lines[-1] == "%s=%s%s" % (name, format_value(value), newline)
        # Every earlier line is unchanged, except that a missing final newline is added.
        assert "".join(env.lines[:-1]) in (text, text + newline)
        if text and not text.endswith("\n"):
            assert "".join(env.lines[:-1]) == text + newline


@settings(max_examples=200, deadline=None)
@given(env_texts(), st.data())
def test_remove_drops_exactly_one_line(text, data):
    env = DotEnv(text)
    assume(env.names())
    name = data.draw(st.sampled_from(env.names()))
    lines = list(env.lines)
    index = [i for i, line in enumerate(lines) if line.strip() and not line.strip().startswith("#")
             and line.split("=", 1)[0].strip() == name][0]
    assert env.remove(name) is True
    assert env.remove(name) is False
    assert env.render() == "".join(lines[:index] + lines[index + 1:])
    assert name not in env and env.get(name) is None
    # The index of the lines after it still points at the right lines.
    expected = decouple_read(text)
    del expected[name]
    assert {n: env.get(n) for n in env.names()} == expected


@settings(max_examples=200, deadline=None)
@given(settable_values)
def test_format_value_reads_back_the_same_in_decouple(value):
    assume(writable(value))
    rendered = "NAME=%s\n" % format_value(value)
    assert decouple_read(rendered)["NAME"] == value
    assert DotEnv(rendered).get("NAME") == value


# --- examples -----------------------------------------------------------------------------------
def test_values_that_readers_disagree_on_are_refused():
    for value in ["a'b\\c", "x\ny", "it's \\ here", "a\rb"]:
        with pytest.raises(DotEnvError) as info:
            format_value(value)
        assert value not in str(info.value)
    assert format_value("gAAAAA-_+/=") == "gAAAAA-_+/="
    assert format_value("has space") == "'has space'"
    assert format_value('say "hi"') == "'say \"hi\"'"
    assert format_value("") == ""


def test_crlf_file_gets_crlf_lines():
    env = DotEnv("A=1\r\nB=2")
    env.set("C", "3")
    assert env.render() == "A=1\r\nB=2\r\nC=3\r\n"


def test_no_final_newline_is_kept_when_editing_in_place():
    env = DotEnv("# top\nA=1\nB=2")
    env.set("B", "3")
    assert env.render() == "# top\nA=1\nB=3"


def test_separators_other_than_newline_stay_inside_values():
    # str.splitlines() would cut these lines in two; decouple and systemd do not.
    for sep in (u"\x0c", u"\x1c", u"\x85", u"\u2028"):
        text = u"A=x%sy\nB=2\n" % sep
        env = DotEnv(text)
        assert env.names() == ["A", "B"]
        assert env.get("A") == decouple_read(text)["A"]


def test_quotes_comments_and_blank_lines():
    text = "# comment\n\n  SPACED = 'single quoted' \nDQ=\"double\"\nHALF='open\nEMPTY=\n  # indented\n"
    env = DotEnv(text)
    assert env.get("SPACED") == "single quoted"
    assert env.get("DQ") == "double"
    assert env.get("HALF") == "'open"
    assert env.get("EMPTY") == ""
    assert env.get("NOPE", "default") == "default"
    assert env.names() == ["DQ", "EMPTY", "HALF", "SPACED"]


@pytest.mark.parametrize("text, words", [
    ("A=1\nB=2\nA=secretvalue\n", ["A is defined twice", "lines 1 and 3"]),
    ("export ENCRYPTION_KEY=secretvalue\n", ["line 1", "export"]),
    ("A=1\njust words secretvalue\n", ["line 2", "neither a comment nor NAME=value"]),
    ("1BAD=secretvalue\n", ["line 1", "valid variable name"]),
])
def test_unsafe_files_are_refused_without_values(text, words):
    with pytest.raises(DotEnvError) as info:
        DotEnv(text, "/x/.env")
    message = str(info.value)
    for word in words:
        assert word in message
    assert "secretvalue" not in message
    assert "/x/.env" in message


def test_invalid_names_are_refused_by_set():
    with pytest.raises(DotEnvError):
        DotEnv("").set("BAD NAME", "x")


def test_non_utf8_is_refused(tmp_path):
    path = tmp_path / ".env"
    path.write_bytes(b"# ok\nA=caf\xe9\n")
    with pytest.raises(DotEnvError) as info:
        read_env_file(str(path))
    assert "not UTF-8 text (line 2, byte 10)" in str(info.value)


def test_missing_file_and_missing_directory(tmp_path):
    with pytest.raises(DotEnvError) as info:
        read_env_file(str(tmp_path / ".env"))
    assert "No such file" in str(info.value)
    env = read_env_file(str(tmp_path / ".env"), missing_ok=True)
    assert env.names() == [] and env.render() == ""
    with pytest.raises(DotEnvError) as info:
        read_env_file(str(tmp_path / "nodir" / ".env"), missing_ok=True)
    assert "does not exist; create it first" in str(info.value)


def test_directory_and_fifo_are_refused_without_blocking(tmp_path):
    with pytest.raises(DotEnvError) as info:
        read_env_file(str(tmp_path))
    assert "not a regular file" in str(info.value)
    fifo = tmp_path / "fifo"
    os.mkfifo(str(fifo))
    with pytest.raises(DotEnvError) as info:
        read_env_file(str(fifo))
    assert "not a regular file" in str(info.value)


def _read_as_nobody(path, queue):
    os.setgid(65534)
    os.setuid(65534)
    try:
        read_env_file(path)
    except DotEnvError as exc:
        queue.put(str(exc))
    else:
        queue.put("read")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to nobody")
def test_unreadable_file_is_a_clear_error(tmp_path):
    # Root reads anything, so the reader runs as nobody in a forked child.
    path = tmp_path / ".env"
    path.write_text("A=1\n")
    os.chmod(str(path), 0o600)
    os.chmod(str(tmp_path), 0o755)
    queue = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(target=_read_as_nobody, args=(str(path), queue))
    child.start()
    child.join(30)
    assert queue.get(timeout=5) == "cannot read %s: Permission denied" % path


def test_write_atomic_keeps_the_symlink_and_writes_the_target(tmp_path):
    real = tmp_path / "real.env"
    real.write_text("A=1\n")
    link = tmp_path / "link.env"
    link.symlink_to(real)
    old_umask = os.umask(0)
    try:
        written = write_atomic(str(link), "A=2\n")
    finally:
        os.umask(old_umask)
    assert written == str(real)
    assert os.path.islink(str(link)) and os.readlink(str(link)) == str(real)
    assert real.read_text() == "A=2\n"
    assert stat.S_IMODE(os.stat(str(real)).st_mode) == 0o600
    assert sorted(os.listdir(str(tmp_path))) == ["link.env", "real.env"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown")
def test_write_atomic_keeps_owner_and_applies_mode(tmp_path):
    path = tmp_path / ".env"
    path.write_text("A=1\n")
    os.chown(str(path), 65534, 65534)
    write_atomic(str(path), "A=2\n", mode=0o640)
    info = os.stat(str(path))
    assert (info.st_uid, info.st_gid) == (65534, 65534)
    assert stat.S_IMODE(info.st_mode) == 0o640
    write_atomic(str(path), "A=3\n", owner_uid=0, owner_gid=0)
    info = os.stat(str(path))
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, 0, 0o600)


def test_write_then_read_round_trip_on_disk(tmp_path):
    path = tmp_path / ".env"
    original = b"# c\r\nA='x y'\r\nB=2"
    path.write_bytes(original)
    env = read_env_file(str(path))
    env.set("C", "k+/=")
    write_atomic(str(path), env.render())
    assert path.read_bytes() == original + b"\r\nC=k+/=\r\n"
    assert read_env_file(str(path)).get("A") == "x y"
