# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""DATABASE_URL as the database layer reads and shows it: split into its parts the way URL parsers
and libpq both read it, refused when they would read it differently, and shown with every form of
its password masked."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from urllib.parse import unquote, urlsplit

from ansible_collections.webops.encryption.plugins.module_utils._errors import DatabaseError


def mask(text, secrets, replacement="********"):
    """``text`` with each secret replaced, the longest first (one may hold another)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, replacement)
    return text


def _greedy_userinfo(rest):
    """The userinfo read up to the LAST '@': a password with an unencoded '@', '/', '?', '#' or ':'
    is taken whole, never split into a host or a path."""
    userinfo, at, location = rest.rpartition("@")
    return (userinfo, location) if at else (None, rest)


def _standard_userinfo(rest):
    """The userinfo as URL parsers read it (the netloc up to its last '@'), if libpq reads the same
    (it ends the userinfo at the first '@' before any '/'), and no '@' lies outside the values of
    the query string; else None. Only then may an '@' follow the host: ``?password=s3cr@t``."""
    netloc_end = min([rest.index(c) for c in "/?#" if c in rest] or [len(rest)])
    userinfo, at, _host = rest[:netloc_end].rpartition("@")
    standard = userinfo if at else None
    libpq_end = min([rest.index(c) for c in "@/" if c in rest] or [len(rest)])
    libpq = rest[:libpq_end] if rest[libpq_end:libpq_end + 1] == "@" else None
    if standard != libpq:
        return None
    tail = rest[netloc_end:]
    path, _question, query = tail.split("#", 1)[0].partition("?")
    if "@" in path or "@" in tail.partition("#")[2]:
        return None
    if any("@" in parameter.partition("=")[0] for parameter in query.split("&")):
        return None
    return (standard, rest[len(standard) + 1:]) if at else (None, rest)


def _split_userinfo(url):
    """(scheme, user, password or None, what follows the userinfo) of a DATABASE_URL, or None if
    it is not a URL. A URL every parser reads alike is split where they split it; any other is
    read up to the last '@' (see _greedy_userinfo), which refuse_unencoded then refuses."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    userinfo, location = _standard_userinfo(rest) or _greedy_userinfo(rest)
    if userinfo is None:
        return scheme, None, None, location
    user, colon, password = userinfo.partition(":")
    return scheme, user, password if colon else None, location


# libpq's connection parameters that hold a secret (password, sslpassword, oauth_client_secret, ...);
# any parameter so named is masked, whatever its spelling.
_SECRET_PARAMETER_RE = re.compile(r"pass|secret|token|pwd", re.IGNORECASE)


def _is_password_parameter(parameter):
    return bool(_SECRET_PARAMETER_RE.search(unquote(parameter.partition("=")[0])))


def _query_passwords(location):
    query = location.split("#", 1)[0].partition("?")[2]
    return [parameter.partition("=")[2] for parameter in query.split("&") if _is_password_parameter(parameter)]


def describe_url(url):
    """A DATABASE_URL to show in results and messages: as written, with only the password (and
    any secret query parameter: password, sslpassword, ...) replaced by ``***``, e.g.
    postgresql://webops:***@localhost:5432/webops_db?sslpassword=***."""
    parts = _split_userinfo(url)
    if parts is None:
        return "(a DATABASE_URL that is not a URL)"
    scheme, user, password, location = parts
    if scheme.lower() == "sqlite":
        return url
    path, question, query = location.split("#", 1)[0].partition("?")
    if question:
        query = "?" + "&".join(parameter.partition("=")[0] + "=***" if _is_password_parameter(parameter) else parameter
                               for parameter in query.split("&"))
    shown_user = "" if user is None else user + (":***" if password is not None else "") + "@"
    shown = "%s://%s%s%s" % (scheme, shown_user, path, query)
    # Whatever another reading of the URL takes for a password goes too (a password with an
    # unencoded '/' or '?' that a parser reads as a host and a path).
    masked = set()
    for candidate in [password] + _query_passwords(location):
        masked.update((candidate, unquote(candidate or "")))
    return mask(shown, [candidate for candidate in url_passwords(url) if candidate not in masked], "***")


def url_passwords(url):
    """Every form of the password(s) in a DATABASE_URL that must never be shown: as written and
    percent-decoded, in the userinfo as every reading takes it (up to the last '@', as a URL parser
    and as libpq read it) and in secret query parameters."""
    found = []
    parts = _split_userinfo(url)
    if parts is None or parts[0].lower() == "sqlite":
        return found
    rest = url.partition("://")[2]
    candidates = [parts[2]] + _query_passwords(parts[3])
    greedy, location = _greedy_userinfo(rest)
    candidates.append(greedy.partition(":")[2] if greedy is not None else None)
    candidates.extend(_query_passwords(location))
    libpq_end = min([rest.index(c) for c in "@/" if c in rest] or [len(rest)])
    if rest[libpq_end:libpq_end + 1] == "@":
        candidates.append(rest[:libpq_end].partition(":")[2])
    candidates.extend(_query_passwords(rest))
    try:
        candidates.append(urlsplit(url).password)
    except ValueError:  # an unbalanced '[': the robust reading above still holds the password
        pass
    for candidate in candidates:
        for form in (candidate, unquote(candidate or "")):
            if form and form not in found:
                found.append(form)
    return found


def refuse_unencoded(url):
    """A password with an unencoded '/', '?' or '#' is read by URL parsers (the application's too)
    as the end of the host, and libpq ends the password at its first '@': refuse any URL they read
    differently, naming the fix, before anything connects. An '@' in a query value is fine."""
    if _standard_userinfo(url.partition("://")[2]) is None:
        raise DatabaseError("DATABASE_URL %s: the user name or password holds an unencoded '/', '?', '#' or '@' (or "
                            "an '@' follows them), which URL parsers read as the end of the password or the host; "
                            "percent-encode these characters (/ as %%2F, ? as %%3F, # as %%23, @ as %%40) and run again"
                            % describe_url(url))
